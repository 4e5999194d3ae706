-- Sample data for the example stack (the guide's db-seed), after the
-- migrations: a few thousand rows in every table.
INSERT INTO users (telegram_id, email, plan)
SELECT 100000 + i, 'user' || i || '@example.com', CASE WHEN i % 5 = 0 THEN 'pro' ELSE 'free' END
FROM generate_series(1, 500) AS i;

INSERT INTO tenders (external_id, title, customer, amount, published, deadline)
SELECT 'T-' || i, 'Поставка оборудования, лот ' || i, 'Заказчик ' || (i % 37),
       round((random() * 1000000)::numeric, 2), date '2026-01-01' + (i % 300), date '2026-02-01' + (i % 300)
FROM generate_series(1, 3000) AS i;

INSERT INTO subscriptions (user_id, tender_id)
SELECT u, t FROM generate_series(1, 500) AS u, generate_series(1, 3000, 250) AS t;

INSERT INTO risk_scores (tender_id, score, reasons)
SELECT i, random(), jsonb_build_array('price', i % 7) FROM generate_series(1, 3000, 3) AS i;

INSERT INTO documents (tender_id, name, sha256, size_bytes)
SELECT i, 'spec-' || i || '.pdf', md5(i::text) || md5((i + 1)::text), 1000 + i
FROM generate_series(1, 3000, 2) AS i;

INSERT INTO payments (user_id, amount, status)
SELECT 1 + i % 500, 4990, CASE WHEN i % 9 = 0 THEN 'failed' ELSE 'paid' END
FROM generate_series(1, 1200) AS i;
