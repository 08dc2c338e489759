-- Which session every event belongs to, for the sessions that start on a day in scope(day).
--
-- A session is a run of events of one site under one key, consecutive events less than
-- the session gap (transform.session_gap_minutes, 30) apart. The key is the SDK's session
-- id when the event has one; else the visitor (pixel, tracked links, server-side calls);
-- else the event alone. A session that crosses midnight belongs to the day it started.
--
-- One more cut keeps sessions local in time: at midnight, a session is cut when the whole
-- day before it was one unbroken run that had itself crossed the midnight before. So no
-- session spans more than two calendar days, and the sessions that start on a day depend
-- only on the events from two days before it to the day after: the runner can rebuild a
-- few days alone and get exactly what a full rebuild gets. Only traffic that never pauses
-- for 30 minutes (a bot, a kiosk) ever meets this cut.
--
-- session_id: for the SDK's sessions, the SDK's id when no event carried it on the start
-- day or the day before; otherwise (the id came back after a gap) the id, "~" and the
-- start in epoch milliseconds. For the others, "v_" and a hash of the site, the visitor and
-- the start, or "e_" and the event id.
with keyed as (
    select
        site_id,
        event_id,
        event_dt,
        ts,
        case
            when session_id is not null then 'sdk'
            when visitor_id is not null then 'visitor'
            else 'event'
        end as session_source,
        coalesce(session_id, visitor_id, event_id) as session_key,
        event_type = 'page_view' as is_page_view
    from silver.events
    where event_dt in (select day + cast(k as integer) from scope, range(-2, 2) as offsets(k))
),

ordered as (
    select
        *,
        lag(ts) over (partition by site_id, session_source, session_key order by ts, event_id) as prev_ts
    from keyed
),

flagged as (
    select
        *,
        prev_ts is null or ts - prev_ts >= getvariable('session_gap') as after_gap,
        prev_ts is not null and cast(prev_ts as date) < event_dt as after_midnight
    from ordered
),

-- the key's days on which every event follows the one before within the gap: the whole
-- day continues a run that crossed the midnight before it
unbroken_days as (
    select site_id, session_source, session_key, event_dt
    from flagged
    group by all
    having not bool_or(after_gap)
),

starts as (
    select
        f.*,
        f.after_gap or (f.after_midnight and u.event_dt is not null) as starts_session
    from flagged as f
    left join unbroken_days as u
        on u.site_id = f.site_id
        and u.session_source = f.session_source
        and u.session_key = f.session_key
        and u.event_dt = f.event_dt - 1
),

assigned as (
    select
        *,
        max(case when starts_session then ts end) over (
            partition by site_id, session_source, session_key
            order by ts, event_id
            rows between unbounded preceding and current row
        ) as session_start_ts,
        -- the event's place among the key's events, in (ts, event_id) order: silver_sessions.sql
        -- takes a session's first and last values by it
        row_number() over (partition by site_id, session_source, session_key order by ts, event_id) as event_seq
    from starts
),

sessions as (
    select
        site_id,
        session_source,
        session_key,
        session_start_ts,
        cast(session_start_ts as date) as session_dt,
        first(prev_ts order by ts, event_id) as prev_ts_at_start
    from assigned
    group by all
    having cast(session_start_ts as date) in (select day from scope)
),

named as (
    select
        *,
        case session_source
            when 'sdk' then
                case
                    when prev_ts_at_start is null or cast(prev_ts_at_start as date) < session_dt - 1 then session_key
                    else session_key || '~' || epoch_ms(session_start_ts)
                end
            when 'visitor' then
                'v_' || left(md5(site_id || '|' || session_key || '|' || epoch_ms(session_start_ts)), 24)
            else 'e_' || session_key
        end as session_id
    from sessions
)

select
    a.site_id,
    a.event_id,
    a.event_dt,
    n.session_id,
    n.session_source,
    n.session_start_ts,
    n.session_dt,
    a.event_seq,
    -- for the check that sessions' page views add up, without joining silver.events again
    a.is_page_view
from assigned as a
join named as n
    on n.site_id = a.site_id
    and n.session_source = a.session_source
    and n.session_key = a.session_key
    and n.session_start_ts = a.session_start_ts
