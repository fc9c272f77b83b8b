SELECT 'postgres', 1, 1, 1, 1, 1, 1, -1, '********', NULL, 1, NULL, 10
