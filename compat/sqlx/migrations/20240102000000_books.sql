-- Books belong to an author; an index on the foreign key.
CREATE TABLE sqlx_books (
    id BIGSERIAL PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES sqlx_authors (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    price DOUBLE PRECISION NOT NULL,
    published_at TIMESTAMPTZ,
    meta JSONB
);
CREATE INDEX sqlx_books_author ON sqlx_books (author_id);
