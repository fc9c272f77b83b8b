SELECT 5, lw_current_database(), 10, 6, 'c', 0, 1, -1, '0', '1', 1663, 'C.UTF-8', 'C.UTF-8',
       NULL, NULL, NULL
