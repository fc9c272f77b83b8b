-- Trigger functions with an oid each (their rank by name, past the oids
-- relations use).
SELECT 1000000 + (SELECT count(*) FROM main._lw_functions g WHERE g.name <= f.name),
       f.name, f.source
FROM main._lw_functions f
