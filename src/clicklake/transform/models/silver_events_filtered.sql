-- The bronze events of scope(day) that silver.events leaves out, and why.
--
-- The only reason today is 'duplicate': a (site_id, event_id) seen before on the same
-- event day (the copy ingested first is kept): one row for each copy after the first.
-- The runner checks that the bronze rows of every day in scope equal the rows kept in
-- silver.events plus the rows listed here.
select site_id, event_id, event_dt, 'duplicate' as reason
from (
    select site_id, event_id, cast(ts as date) as event_dt, count(*) as copies
    from bronze.events
    where cast(ts as date) in (select day from scope)
    group by all
    having count(*) > 1
),
    range(copies - 1)
