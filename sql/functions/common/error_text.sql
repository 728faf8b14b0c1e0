-- Error messages quote what the caller sent, bounded: a 1 MB argument must not become a 1 MB
-- message and two copies in the server log. Reads and writes nothing.
create function conductor.error_excerpt(p_value text, p_max_chars integer default 40)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_value is null then
        return 'null';
    elsif length(p_value) <= p_max_chars then
        return '"' || p_value || '"';
    end if;
    return format('"%s..." (%s characters)', left(p_value, p_max_chars), length(p_value));
end
$$;
comment on function conductor.error_excerpt(text, integer) is
'The value quoted for an error message: whole when short, else its first p_max_chars characters '
'and its length, e.g. "+1619555..." (1048576 characters).';
