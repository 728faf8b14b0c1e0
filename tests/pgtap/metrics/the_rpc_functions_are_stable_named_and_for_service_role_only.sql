-- The AI read API: each RPC is STABLE, SECURITY DEFINER with search_path pg_catalog, pg_temp, has named
-- arguments (PostgREST maps JSON keys to them) and no overload, and only service_role may
-- execute it; the maintenance, refresh and rebuild functions stay private in conductor.
begin;
select plan(8);

create temporary table rpc (signature text primary key, argument_names text[]);
insert into rpc values
('public.get_customer_insights(text)', array['phone_number']),
('public.get_customer_top_products(text,integer)', array['phone_number', 'max_products']),
('public.get_overdue_customers(integer,integer)', array['min_days_late', 'max_rows']),
('public.get_win_back_targets(integer,integer,boolean)', array['page', 'page_size', 'by_expected_value']);

select is_empty(
    $$select r.signature from rpc as r where to_regprocedure(r.signature) is null$$,
    'every RPC exists with its signature'
);
select is_empty(
    $$select r.signature from rpc as r inner join pg_catalog.pg_proc as p on p.oid = to_regprocedure(r.signature)
      where p.provolatile <> 's' or not p.prosecdef or not p.proconfig @> array['search_path=pg_catalog, pg_temp']$$,
    'every RPC is STABLE and SECURITY DEFINER with search_path pinned to pg_catalog, pg_temp'
);
select is_empty(
    $$select r.signature from rpc as r inner join pg_catalog.pg_proc as p on p.oid = to_regprocedure(r.signature)
      where p.proargnames[1:cardinality(r.argument_names)] is distinct from r.argument_names$$,
    'arguments are named without prefixes'
);
select is_empty(
    $$select p.proname from pg_catalog.pg_proc as p
      where p.pronamespace = 'public'::regnamespace
        and p.proname in ('get_customer_insights', 'get_customer_top_products', 'get_overdue_customers',
                          'get_win_back_targets')
      group by p.proname having count(*) > 1$$,
    'no overloads'
);
select is_empty(
    $$select r.signature, u.role_name from rpc as r
      cross join (values ('service_role', true), ('anon', false), ('authenticated', false), ('public', false))
        as u (role_name, allowed)
      where u.role_name <> 'public'
        and has_function_privilege(u.role_name, r.signature, 'EXECUTE') <> u.allowed$$,
    'service_role may execute every RPC, anon and authenticated none'
);
select is_empty(
    $$select p.oid::regprocedure::text from pg_catalog.pg_proc as p
      where p.pronamespace = 'conductor'::regnamespace
        and p.proname in ('rebuild_all', 'nightly_refresh', 'refresh_win_back', 'refresh_win_back_queue',
                          'refresh_customers', 'refresh_visit_patterns', 'refresh_product_affinity', 'refresh_staff',
                          'apply_staff_deltas', 'refresh_activity_timeline', 'refresh_stale_activity_timeline')
        and (has_function_privilege('service_role', p.oid, 'EXECUTE')
             or has_function_privilege('anon', p.oid, 'EXECUTE'))$$,
    'the maintenance functions are not callable through the API'
);
select isnt_empty(
    $$select 1 from pg_catalog.pg_proc where oid = 'conductor.rebuild_all()'::regprocedure$$,
    'conductor.rebuild_all() exists for repair'
);
select is(
    obj_description('public.win_back_priority_queue'::regclass, 'pg_class') is not null
    and obj_description('public.customer_sms_context'::regclass, 'pg_class') is not null,
    true,
    'the views say what they are'
);

select * from finish();
rollback;
