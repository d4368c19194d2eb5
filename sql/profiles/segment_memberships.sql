-- The day's memberships per user (segment id -> version), and the users of the previous day
-- who are in no segment now (segments NULL: the loader deletes their row).
WITH today AS (
  SELECT adid, map_from_entries(collect_list(struct(segment_id, segment_version))) AS segments
  FROM adtarget.segment_membership
  WHERE dt = :day
  GROUP BY adid
), before AS (
  SELECT DISTINCT adid
  FROM adtarget.segment_membership
  WHERE dt = date_format(date_sub(to_date(:day), 1), 'yyyy-MM-dd')
)
SELECT adid, segments FROM today
UNION ALL
SELECT b.adid, CAST(NULL AS MAP<INT, INT>) AS segments
FROM before AS b LEFT ANTI JOIN today AS t ON b.adid = t.adid
