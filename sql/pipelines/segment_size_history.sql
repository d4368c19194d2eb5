/* ---
description: Members per segment per day and the change since the day before (the report's movers).
schedule: "@daily"
start_date: 2000-01-01
tags: [marts, segments]
wait_for: [table:adtarget.segment_membership]
produces: [adtarget.segment_size_history]
--- */
CREATE TABLE IF NOT EXISTS adtarget.segment_size_history (
  segment_id INT,
  members BIGINT COMMENT 'distinct ADIDs in the segment that day',
  members_before BIGINT COMMENT 'the day before (0 if it had none)',
  change BIGINT
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

INSERT OVERWRITE TABLE adtarget.segment_size_history PARTITION (dt = {{ ds }})
SELECT coalesce(t.segment_id, y.segment_id) AS segment_id,
       coalesce(t.members, 0) AS members,
       coalesce(y.members, 0) AS members_before,
       coalesce(t.members, 0) - coalesce(y.members, 0) AS change
FROM (
  SELECT segment_id, count(DISTINCT adid) AS members
  FROM adtarget.segment_membership
  WHERE dt = {{ ds }}
  GROUP BY segment_id
) t
FULL OUTER JOIN (
  SELECT segment_id, count(DISTINCT adid) AS members
  FROM adtarget.segment_membership
  WHERE dt = {{ macros.ds_add(ds, -1) }}
  GROUP BY segment_id
) y ON t.segment_id = y.segment_id;
