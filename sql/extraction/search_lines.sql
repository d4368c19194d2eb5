-- The day's searches, to be matched against every segment's keywords in one pass by the
-- Aho-Corasick matcher over Arrow batches (adtarget.match_udtf.batch_matcher), the fastest path
-- measured by bench/segment_match.py. The same match from HiveQL, through the UDTF:
--   SELECT l.adid, m.segment_id
--   FROM (SELECT adid, query FROM adtarget.search_log WHERE dt = :dt) l,
--        LATERAL match_segments(l.query) m
-- (filter the day in a subquery: Spark 4.3 does not push an outer WHERE below a LATERAL table
-- function, and the UDTF would read every day of the log.)
SELECT adid, query FROM adtarget.search_log WHERE dt = :dt
