-- Probabilistic lifetime value: every fit of the BG/NBD and Gamma-Gamma models
-- (conductor.lifetime_value_fits, written by conductor.fit_lifetime_value_models) and the
-- per-customer values computed from the latest accepted fits (public.customer_lifetime_value,
-- rewritten after each fit). See docs/lifetime-value.md.
select pg_temp.claim_table('conductor', 'lifetime_value_fits');
create table if not exists conductor.lifetime_value_fits (
    id bigint generated always as identity,
    model text not null,
    fitted_at timestamptz not null default now(),
    data_date date not null,
    time_unit text not null default 'day',
    parameters jsonb not null,
    log_likelihood double precision,
    iterations integer not null,
    evaluations integer not null,
    converged boolean not null,
    accepted boolean not null,
    reason text not null,
    customers integer not null,
    groups integer not null,
    duration_ms double precision not null,
    constraint lifetime_value_fits_pkey primary key (id),
    constraint lifetime_value_fits_model_check check (model in ('bgnbd', 'gamma_gamma')),
    constraint lifetime_value_fits_accepted_check check (not accepted or converged)
);
create index if not exists lifetime_value_fits_model_accepted_idx
on conductor.lifetime_value_fits (model, id desc) where accepted;

alter table conductor.lifetime_value_fits enable row level security;

comment on table conductor.lifetime_value_fits is
'Every maximum-likelihood fit of the lifetime-value models, accepted or not. The parameters in use are '
'those of the latest accepted row per model; a fit that does not converge is recorded with its reason and '
'leaves them unchanged.';
comment on column conductor.lifetime_value_fits.id is 'Fit number (increasing).';
comment on column conductor.lifetime_value_fits.model is
'bgnbd (visits: r, alpha, a, b) or gamma_gamma (spend per visit: p, q, gamma).';
comment on column conductor.lifetime_value_fits.fitted_at is 'When the fit ran.';
comment on column conductor.lifetime_value_fits.data_date is
'The store date the data ends on (visits up to and including this day; customer ages are counted to it).';
comment on column conductor.lifetime_value_fits.time_unit is 'Unit of t_x, T and alpha: day.';
comment on column conductor.lifetime_value_fits.parameters is
'The fitted parameters by name ({"r", "alpha", "a", "b"} or {"p", "q", "gamma"}); for a fit not accepted, '
'where the optimiser stopped.';
comment on column conductor.lifetime_value_fits.log_likelihood is 'Log-likelihood at the parameters.';
comment on column conductor.lifetime_value_fits.iterations is 'Nelder-Mead iterations.';
comment on column conductor.lifetime_value_fits.evaluations is 'Log-likelihood evaluations.';
comment on column conductor.lifetime_value_fits.converged is 'Whether the optimiser met its tolerance.';
comment on column conductor.lifetime_value_fits.accepted is
'Whether these parameters are used: converged and valid (Gamma-Gamma needs q > 1, BG/NBD a <> 1).';
comment on column conductor.lifetime_value_fits.reason is 'converged, or why the fit was not accepted.';
comment on column conductor.lifetime_value_fits.customers is 'Customers in the fit.';
comment on column conductor.lifetime_value_fits.groups is
'Distinct (x, t_x, T) triples (BG/NBD) or (visits, mean spend) pairs (Gamma-Gamma) the likelihood sums over.';
comment on column conductor.lifetime_value_fits.duration_ms is 'Wall time of the fit.';

select pg_temp.claim_table('public', 'customer_lifetime_value');
create table if not exists public.customer_lifetime_value (
    customer_id text not null,
    as_of_date date not null,
    frequency integer not null,
    recency_days integer not null,
    age_days integer not null,
    spend_per_visit numeric(12, 2),
    p_alive numeric(7, 6),
    expected_visits_30d numeric(10, 4),
    expected_visits_90d numeric(10, 4),
    expected_visits_365d numeric(10, 4),
    expected_spend_per_visit numeric(12, 2),
    expected_value_12m numeric(14, 2),
    bgnbd_fit_id bigint,
    gamma_gamma_fit_id bigint,
    computed_at timestamptz not null default now(),
    constraint customer_lifetime_value_pkey primary key (customer_id),
    constraint customer_lifetime_value_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete cascade,
    constraint customer_lifetime_value_p_alive_check check (p_alive between 0 and 1)
);
create index if not exists customer_lifetime_value_expected_value_12m_idx
on public.customer_lifetime_value (expected_value_12m desc);

alter table public.customer_lifetime_value enable row level security;

comment on table public.customer_lifetime_value is
'Per customer with at least one visit, the BG/NBD and Gamma-Gamma predictions of the latest accepted fits, '
'as of as_of_date (recomputed after each fit, nightly; a sale is reflected at the next fit). A visit is a '
'store-local day with a completed sale, as in customers.total_visits. See docs/lifetime-value.md.';
comment on column public.customer_lifetime_value.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_lifetime_value.as_of_date is 'The store date the values are computed for.';
comment on column public.customer_lifetime_value.frequency is 'x: repeat visits = visits - 1.';
comment on column public.customer_lifetime_value.recency_days is 't_x: days from the first visit to the last.';
comment on column public.customer_lifetime_value.age_days is 'T: days from the first visit to as_of_date.';
comment on column public.customer_lifetime_value.spend_per_visit is
'Observed mean spend per visit: completed sales (gross, refunds not deducted) / visits.';
comment on column public.customer_lifetime_value.p_alive is
'BG/NBD probability that the customer still visits (has not silently left). 1 for one-visit customers by '
'the model''s construction: read it together with expected_visits_90d.';
comment on column public.customer_lifetime_value.expected_visits_30d is 'BG/NBD expected visits in the 30 days after as_of_date.';
comment on column public.customer_lifetime_value.expected_visits_90d is 'BG/NBD expected visits in the 90 days after as_of_date.';
comment on column public.customer_lifetime_value.expected_visits_365d is 'BG/NBD expected visits in the 365 days after as_of_date.';
comment on column public.customer_lifetime_value.expected_spend_per_visit is
'Gamma-Gamma conditional expected spend per future visit (the observed mean shrunk towards the population mean).';
comment on column public.customer_lifetime_value.expected_value_12m is
'expected_visits_365d x expected_spend_per_visit: expected gross sales in the next 12 months, undiscounted.';
comment on column public.customer_lifetime_value.bgnbd_fit_id is 'The BG/NBD fit used (conductor.lifetime_value_fits.id).';
comment on column public.customer_lifetime_value.gamma_gamma_fit_id is 'The Gamma-Gamma fit used (conductor.lifetime_value_fits.id).';
comment on column public.customer_lifetime_value.computed_at is 'When the row was last written.';
