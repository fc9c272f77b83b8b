-- Trigger functions created with CREATE FUNCTION (their PL/pgSQL source).
SELECT f.oid, f.name, 2200, 10, 13002, 100, 0, 0, '-', 'f', 0, 0, 0, 0, 'v', 'u',
       0, 0, 2279, '', NULL, NULL, NULL, NULL, NULL, f.source, NULL, NULL, NULL, NULL
FROM lw_functions f
