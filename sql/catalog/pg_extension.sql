SELECT 13001, 'plpgsql', 10, 11, 0, '1.0', NULL, NULL
