-- Per delivered segment: members on the day, and how many joined or left since the day before.
WITH today AS (
  SELECT segment_id, adid FROM adtarget.segment_membership WHERE dt = :dt
), before AS (
  SELECT segment_id, adid FROM adtarget.segment_membership WHERE dt = :previous
), moves AS (
  SELECT coalesce(t.segment_id, b.segment_id) AS segment_id, t.adid AS now_in, b.adid AS was_in
  FROM today t FULL OUTER JOIN before b ON t.segment_id = b.segment_id AND t.adid = b.adid
)
SELECT s.segment_id, s.version AS segment_version, s.template,
       count(m.now_in) AS members,
       count(IF(m.now_in IS NOT NULL AND m.was_in IS NULL, 1, NULL)) AS joined,
       count(IF(m.now_in IS NULL AND m.was_in IS NOT NULL, 1, NULL)) AS left_segment
FROM extraction_segments s
LEFT JOIN moves m ON m.segment_id = s.segment_id
WHERE s.deliver
GROUP BY s.segment_id, s.version, s.template
