-- Recent search keywords (the query as typed, lower-cased) of the last 30 days.
SELECT adid, lower(query) AS keyword, CAST(COUNT(*) AS INT) AS searches, unix_millis(MAX(ts)) AS last_at
FROM adtarget.search_log
WHERE dt BETWEEN date_format(date_sub(to_date(:day), 29), 'yyyy-MM-dd') AND :day
GROUP BY adid, lower(query)
