-- v2: the risk engine's scores, the doc service's files and billing.
CREATE TABLE risk_scores (
    tender_id  bigint PRIMARY KEY REFERENCES tenders (id) ON DELETE CASCADE,
    score      real NOT NULL CHECK (score >= 0 AND score <= 1),
    reasons    jsonb NOT NULL DEFAULT '[]',
    scored_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    id         bigserial PRIMARY KEY,
    tender_id  bigint NOT NULL REFERENCES tenders (id) ON DELETE CASCADE,
    name       text NOT NULL,
    sha256     text NOT NULL,
    size_bytes bigint NOT NULL
);

CREATE TABLE payments (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    amount     numeric(12, 2) NOT NULL,
    status     text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT 'ru';
