-- Banners clicked in the last 30 days.
SELECT adid, banner_id, CAST(COUNT(*) AS INT) AS clicks, unix_millis(MAX(ts)) AS last_at
FROM adtarget.ad_event_log
WHERE dt BETWEEN date_format(date_sub(to_date(:day), 29), 'yyyy-MM-dd') AND :day AND event = 'click'
GROUP BY adid, banner_id
