-- How the modem's send errors are classified: a permanent error fails the message at once, any
-- other (and any code not listed here) is transient and retried with backoff up to the
-- send_max_retries setting. Codes as the bridge reports them: 'CMS:<n>' (+CMS ERROR, 3GPP
-- TS 27.005 3.2.5 and 24.011 E-2), 'CME:<n>' (+CME ERROR, 27.007 9.2), 'no_prompt',
-- 'port_lost', 'encode_error'. Default rows are inserted once; an owner's edits survive.
select pg_temp.claim_table('conductor', 'send_error_codes');
create table if not exists conductor.send_error_codes (
    code text not null,
    is_permanent boolean not null,
    description text not null,
    constraint send_error_codes_pkey primary key (code),
    constraint send_error_codes_code_check check (code ~ '^(CMS:[0-9]+|CME:[0-9]+|[a-z][a-z0-9_]*)$')
);
alter table conductor.send_error_codes enable row level security;
comment on table conductor.send_error_codes is
'Send error codes reported by the bridge and whether they are permanent (fail at once) or transient '
'(retry with backoff). Codes not listed are transient.';
comment on column conductor.send_error_codes.code is 'CMS:<n>, CME:<n> or a bridge code (no_prompt, port_lost, encode_error).';
comment on column conductor.send_error_codes.is_permanent is 'true: retrying cannot help, the message fails at once.';
comment on column conductor.send_error_codes.description is 'What the code means.';

insert into conductor.send_error_codes (code, is_permanent, description) values
('CMS:1', true, 'Unassigned (unallocated) number'),
('CMS:8', true, 'Operator determined barring'),
('CMS:10', true, 'Call barred'),
('CMS:21', true, 'Short message transfer rejected'),
('CMS:27', false, 'Destination out of service'),
('CMS:28', true, 'Unidentified subscriber'),
('CMS:29', true, 'Facility rejected'),
('CMS:30', true, 'Unknown subscriber'),
('CMS:38', false, 'Network out of order'),
('CMS:41', false, 'Temporary failure'),
('CMS:42', false, 'Congestion'),
('CMS:47', false, 'Resources unavailable, unspecified'),
('CMS:50', true, 'Requested facility not subscribed'),
('CMS:69', true, 'Requested facility not implemented'),
('CMS:95', true, 'Invalid message, unspecified'),
('CMS:96', true, 'Invalid mandatory information'),
('CMS:97', true, 'Message type non-existent or not implemented'),
('CMS:98', true, 'Message not compatible with short message protocol state'),
('CMS:99', true, 'Information element non-existent or not implemented'),
('CMS:111', false, 'Protocol error, unspecified'),
('CMS:127', false, 'Interworking, unspecified'),
('CMS:197', true, 'SM rejected: duplicate SM (the service centre already has it; resending would duplicate)'),
('CMS:300', false, 'ME failure'),
('CMS:301', true, 'SMS service of ME reserved'),
('CMS:302', false, 'Operation not allowed'),
('CMS:303', true, 'Operation not supported'),
('CMS:304', true, 'Invalid PDU mode parameter'),
('CMS:305', true, 'Invalid text mode parameter'),
('CMS:310', false, 'SIM not inserted'),
('CMS:311', false, 'SIM PIN required'),
('CMS:313', false, 'SIM failure'),
('CMS:314', false, 'SIM busy'),
('CMS:320', false, 'Memory failure'),
('CMS:322', false, 'Memory full'),
('CMS:330', true, 'SMSC address unknown (modem configuration)'),
('CMS:331', false, 'No network service'),
('CMS:332', false, 'Network timeout'),
('CMS:340', false, 'No +CNMA acknowledgement expected'),
('CMS:500', false, 'Unknown error'),
('CMS:515', false, 'Vendor specific: busy, initialisation or command in progress'),
('CME:3', false, 'Operation not allowed'),
('CME:4', true, 'Operation not supported'),
('CME:10', false, 'SIM not inserted'),
('CME:11', false, 'SIM PIN required'),
('CME:13', false, 'SIM failure'),
('CME:14', false, 'SIM busy'),
('CME:30', false, 'No network service'),
('CME:31', false, 'Network timeout'),
('CME:100', false, 'Unknown error'),
('no_prompt', false, 'The modem did not answer AT+CMGS with the "> " prompt; nothing was submitted'),
('port_lost', false, 'The serial port went away before the PDU was written; nothing was submitted'),
('encode_error', true, 'The text could not be encoded as an SMS PDU')
on conflict do nothing;
