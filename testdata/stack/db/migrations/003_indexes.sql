-- The queries the services run most.
CREATE INDEX tenders_published_idx ON tenders (published DESC);
CREATE INDEX tenders_customer_idx ON tenders (customer);
CREATE INDEX documents_tender_idx ON documents (tender_id);
CREATE INDEX payments_user_idx ON payments (user_id, created_at DESC);
