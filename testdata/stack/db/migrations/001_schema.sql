-- The example stack's first schema: accounts and the tenders they follow.
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    telegram_id bigint UNIQUE,
    email       text UNIQUE,
    plan        text NOT NULL DEFAULT 'free',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenders (
    id          bigserial PRIMARY KEY,
    external_id text NOT NULL UNIQUE,
    title       text NOT NULL,
    customer    text NOT NULL,
    amount      numeric(18, 2),
    published   date NOT NULL,
    deadline    date
);

CREATE TABLE subscriptions (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tender_id bigint NOT NULL REFERENCES tenders (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, tender_id)
);
