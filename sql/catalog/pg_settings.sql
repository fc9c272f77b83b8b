-- Server-wide settings drivers read (PgJDBC asks for max_index_keys); a
-- session's SET values are served by SHOW and current_setting.
SELECT column1, column2, column3, column4, '', NULL, column5, column6, 'default',
       NULL, NULL, NULL, column2, column2, NULL, NULL, 0
FROM (VALUES
  ('block_size', '8192', NULL, 'Preset Options', 'internal', 'integer'),
  ('client_encoding', 'UTF8', NULL, 'Client Connection Defaults / Locale and Formatting', 'user', 'string'),
  ('DateStyle', 'ISO, MDY', NULL, 'Client Connection Defaults / Locale and Formatting', 'user', 'string'),
  ('integer_datetimes', 'on', NULL, 'Preset Options', 'internal', 'bool'),
  ('lc_collate', 'C', NULL, 'Preset Options', 'internal', 'string'),
  ('lc_ctype', 'C', NULL, 'Preset Options', 'internal', 'string'),
  ('max_connections', '200', NULL, 'Connections and Authentication / Connection Settings', 'postmaster', 'integer'),
  ('max_identifier_length', '63', NULL, 'Preset Options', 'internal', 'integer'),
  ('max_index_keys', '32', NULL, 'Preset Options', 'internal', 'integer'),
  ('search_path', '"$user", public', NULL, 'Client Connection Defaults / Statement Behavior', 'user', 'string'),
  ('server_encoding', 'UTF8', NULL, 'Preset Options', 'internal', 'string'),
  ('server_version', '15.0', NULL, 'Preset Options', 'internal', 'string'),
  ('server_version_num', '150000', NULL, 'Preset Options', 'internal', 'integer'),
  ('standard_conforming_strings', 'on', NULL, 'Compatibility Options', 'user', 'bool'),
  ('TimeZone', 'UTC', NULL, 'Client Connection Defaults / Locale and Formatting', 'user', 'string'))
