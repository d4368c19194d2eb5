-- Installed apps of the last 180 days, with the first install time.
SELECT adid, app_id, FIRST(app_category) AS category, unix_millis(MIN(ts)) AS installed_at
FROM adtarget.app_install_log
WHERE dt BETWEEN date_format(date_sub(to_date(:day), 179), 'yyyy-MM-dd') AND :day
GROUP BY adid, app_id
