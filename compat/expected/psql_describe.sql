CREATE TABLE psqlcat_p (id serial PRIMARY KEY, code varchar(10) UNIQUE NOT NULL);
CREATE TABLE psqlcat_c (id bigserial PRIMARY KEY,
  parent_id int NOT NULL REFERENCES psqlcat_p(id) ON DELETE CASCADE,
  name text NOT NULL DEFAULT 'x', total numeric(10,2), created timestamptz DEFAULT now(), flag boolean);
CREATE INDEX psqlcat_c_name ON psqlcat_c (name);
CREATE UNIQUE INDEX psqlcat_c_pn ON psqlcat_c (parent_id, name);
\d psqlcat_c
\d psqlcat_p
\dt psqlcat_*
\di psqlcat_*
\ds psqlcat_*
\d psqlcat_c_pn
\dn public
\du postgres
\x
SELECT id, code FROM psqlcat_p;
INSERT INTO psqlcat_p (code) VALUES ('a') RETURNING id, code;
DROP TABLE psqlcat_c, psqlcat_p;
