SELECT 'postgres', 10, 1, 1, 1, 1, '********', NULL, NULL
