-- silver.user_segments: who is in which segment, and when (seed 004 section 4.2, SCD2).
--
-- Reads segment_evidence(segment_key, site_id, visitor_id, qualified_at, amount, threshold,
-- window_days): one row per session that satisfies a segment rule (transform.segments),
-- qualified_at the session's end, with the amount it counts for. The runner builds it from
-- silver.sessions, one SELECT per rule.
--
-- A visitor is in a segment at a moment when the amounts of its evidence within the
-- rule's window (the last window_days days) add up to at least the threshold. Every
-- entry opens a row (valid_from); the exit closes it (valid_to). An exit still ahead of
-- the latest event in the lake (the variable as_of) leaves the row open (valid_to null).
-- Every row follows from event time alone, so rows that closed stay as they are, and a
-- rebuild from scratch gives the same rows; only an event that arrives late, inside a
-- row's past, changes that row.
with changes as (
    select segment_key, site_id, visitor_id, qualified_at, amount as delta, threshold
    from segment_evidence
    union all
    select segment_key, site_id, visitor_id, qualified_at + to_days(window_days), -amount, threshold
    from segment_evidence
),

moments as (
    select segment_key, site_id, visitor_id, qualified_at, sum(delta) as delta, any_value(threshold) as threshold
    from changes
    group by segment_key, site_id, visitor_id, qualified_at
),

levels as (
    select
        *,
        -- amounts are whole numbers in practice; the margin absorbs float rounding
        sum(delta) over (
            partition by segment_key, site_id, visitor_id
            order by qualified_at
            rows between unbounded preceding and current row
        ) >= threshold - 1e-9 as inside
    from moments
),

flips as (
    select *
    from (
        select
            *,
            lag(inside, 1, false) over (partition by segment_key, site_id, visitor_id order by qualified_at) as was_inside
        from levels
    )
    where inside <> was_inside
),

intervals as (
    select
        segment_key,
        site_id,
        visitor_id,
        inside,
        qualified_at as valid_from,
        lead(qualified_at) over (partition by segment_key, site_id, visitor_id order by qualified_at) as valid_until
    from flips
)

select
    i.site_id,
    i.visitor_id,
    i.segment_key,
    max(e.qualified_at) as as_of_ts,
    i.valid_from,
    case when i.valid_until <= getvariable('as_of') then i.valid_until end as valid_to
from intervals as i
join segment_evidence as e
    on e.segment_key = i.segment_key
    and e.site_id = i.site_id
    and e.visitor_id = i.visitor_id
    and e.qualified_at >= i.valid_from
    and e.qualified_at < i.valid_until
where i.inside
group by i.site_id, i.visitor_id, i.segment_key, i.valid_from, i.valid_until
order by i.site_id, i.visitor_id, i.valid_from
