SELECT 100, 'default', 11, 10, 'd', 1, -1, NULL, NULL, NULL, NULL
UNION ALL SELECT 950, 'C', 11, 10, 'c', 1, -1, 'C', 'C', NULL, NULL
