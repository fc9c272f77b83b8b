-- Authors: a unique name, an optional email.
CREATE TABLE sqlx_authors (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    email TEXT,
    active BOOLEAN NOT NULL DEFAULT true
);
