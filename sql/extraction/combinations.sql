-- Members of the combinations of one level (extraction_combinations), from the members of the
-- segments they name (extraction_known: every lower level): in all of all_of, in one of
-- any_of (when given), in none of none_of.
SELECT /*+ BROADCAST(c) */ c.segment_id, m.adid
FROM extraction_combinations c
JOIN extraction_known m ON m.segment_id = c.ref_id
GROUP BY c.segment_id, m.adid
HAVING count(DISTINCT IF(c.grp = 'all_of', c.ref_id, NULL)) = max(c.n_all)
   AND (max(c.n_any) = 0 OR count(IF(c.grp = 'any_of', 1, NULL)) > 0)
   AND count(IF(c.grp = 'none_of', 1, NULL)) = 0
