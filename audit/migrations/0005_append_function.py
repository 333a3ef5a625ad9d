from django.db import migrations

APPEND = """
-- R1: one round trip per event. The caller (audit.services.record_event) sends the
-- event's fields and its canonical JSON cut in three around the two values only the
-- chain knows: prev_hash and seq. This locks the chain's head, fills them in, hashes,
-- inserts and moves the head. record_event recomputes the hash in Python and refuses
-- the event if the two differ, so the scheme has one definition (audit.services).
-- SECURITY INVOKER: it runs as the app role, under row-level security, in the scope of
-- the event's own agency (the installation's chain: every agency), which it opens for
-- itself so that a call outside a transaction is one round trip, and then restores.
CREATE FUNCTION audit_append(
  p_agency_id bigint, p_agency_label text, p_occurred_at timestamptz,
  p_actor_id bigint, p_actor_label text, p_actor_role text,
  p_on_behalf_of_id bigint, p_on_behalf_of_label text, p_action text,
  p_object_type text, p_object_id text, p_object_label text, p_outcome text, p_reason text,
  p_request_id text, p_ip inet, p_user_agent text,
  p_content text, p_content_sha256 text, p_details jsonb,
  p_before_prev text, p_before_seq text, p_after_seq text,
  OUT event_id bigint, OUT event_seq bigint, OUT event_prev text, OUT event_hash text
) LANGUAGE plpgsql AS $$
DECLARE
  head_id bigint;
  outer_agency text := current_setting('smc.agency_id', true);
  outer_every text := current_setting('smc.every_agency', true);
BEGIN
  PERFORM set_config('smc.agency_id', coalesce(p_agency_id::text, ''), true),
          set_config('smc.every_agency', CASE WHEN p_agency_id IS NULL THEN 'on' ELSE '' END, true);
  FOR attempt IN 1..2 LOOP
    IF p_agency_id IS NULL THEN
      SELECT id, seq, hash INTO head_id, event_seq, event_prev
        FROM audit_chainhead WHERE agency_id IS NULL FOR UPDATE;
    ELSE
      SELECT id, seq, hash INTO head_id, event_seq, event_prev
        FROM audit_chainhead WHERE agency_id = p_agency_id FOR UPDATE;
    END IF;
    EXIT WHEN head_id IS NOT NULL;
    INSERT INTO audit_chainhead (agency_id, seq, hash)
      VALUES (p_agency_id, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
  END LOOP;
  event_seq := event_seq + 1;
  event_prev := coalesce(nullif(event_prev, ''), repeat('0', 64));
  event_hash := encode(sha256(convert_to(
    p_before_prev || event_prev || p_before_seq || event_seq::text || p_after_seq, 'UTF8'
  )), 'hex');
  INSERT INTO audit_auditevent (
    agency_id, agency_label, seq, occurred_at, actor_id, actor_label, actor_role,
    on_behalf_of_id, on_behalf_of_label, action, object_type, object_id, object_label,
    outcome, reason, request_id, ip, user_agent, content, content_sha256, details,
    prev_hash, hash
  ) VALUES (
    p_agency_id, p_agency_label, event_seq, p_occurred_at, p_actor_id, p_actor_label,
    p_actor_role, p_on_behalf_of_id, p_on_behalf_of_label, p_action, p_object_type,
    p_object_id, p_object_label, p_outcome, p_reason, p_request_id, p_ip, p_user_agent,
    p_content, p_content_sha256, p_details, event_prev, event_hash
  ) RETURNING id INTO event_id;
  UPDATE audit_chainhead SET seq = event_seq, hash = event_hash WHERE id = head_id;
  PERFORM set_config('smc.agency_id', coalesce(outer_agency, ''), true),
          set_config('smc.every_agency', coalesce(outer_every, ''), true);
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_retention_holds_requests")]

    operations = [
        migrations.RunSQL(
            APPEND,
            "DROP FUNCTION audit_append(bigint, text, timestamptz, bigint, text, text, bigint, "
            "text, text, text, text, text, text, text, text, inet, text, text, text, jsonb, text, "
            "text, text)",
        )
    ]
