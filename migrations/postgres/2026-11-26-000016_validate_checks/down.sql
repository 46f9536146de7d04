-- Validating changed no definition and no row: the constraints stay as migrations 4, 5 and
-- 8 made them (their own down.sql drops them). Diesel refuses a file without a statement.
SELECT 1;
