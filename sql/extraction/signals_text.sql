-- Search signals of one day: per segment and user, how many of the day's searches matched
-- (extraction_search_hits: one row per matching search and segment, from search_lines.sql).
SELECT CAST(segment_id AS INT) AS segment_id, 'search' AS kind, adid,
       count(*) AS events, CAST(0 AS DOUBLE) AS amount, CAST(NULL AS ARRAY<STRING>) AS items
FROM extraction_search_hits
GROUP BY segment_id, adid
