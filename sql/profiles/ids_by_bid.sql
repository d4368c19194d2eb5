-- Browser id -> ADID, from the day's user attributes snapshot.
SELECT bid, adid
FROM adtarget.user_attributes
WHERE dt = :day AND bid IS NOT NULL
