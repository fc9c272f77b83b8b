SELECT current_setting('application_name'), current_setting('client_min_messages');
SET application_name = 'cs';
SELECT current_setting('application_name');
SELECT current_setting('nope.x', true) IS NULL;
SELECT current_setting('nope_x');
BEGIN;
SET LOCAL statement_timeout = '5s';
COMMIT;
SELECT current_setting('search_path');
