-- The demo account for local development. Idempotent: every row has a fixed id and is inserted
-- with INSERT OR IGNORE, so running it again changes nothing.
INSERT OR IGNORE INTO accounts (id, name, created_at) VALUES ('01JDEM0ACC0VNT000000000001', 'Demo Co', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000001', '01JDEM0ACC0VNT000000000001', 'alex@demo.test', 'Alex Owner', 'owner', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000002', '01JDEM0ACC0VNT000000000001', 'ben@demo.test', 'Ben Member', 'member', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000003', '01JDEM0ACC0VNT000000000001', 'cara@demo.test', 'Cara Light', 'light', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000004', '01JDEM0ACC0VNT000000000001', 'dana@demo.test', 'Dana Admin', 'admin', 1767225600000);
-- The demo partner site `npm run dev` serves on http://127.0.0.1:8790 (scripts/demo-partner.ts): its keys are at its own JWKS URL, so no secret is seeded. It embeds sales@demo.test once that mailbox is connected (the UPDATE binds it on the next run; Settings › Partner sites can choose it at once).
INSERT OR IGNORE INTO embed_partners (id, account_id, name, mailbox_id, permissions, key_type, jwks_url, sealed_secret, key_version, created_by, created_at) VALUES ('01JDEM0PARTNER000000000001', '01JDEM0ACC0VNT000000000001', 'Demo partner portal', NULL, '["read","reply","notes"]', 'jwks', 'http://127.0.0.1:8790/.well-known/jwks.json', NULL, 1, '01JDEM0VSER000000000000001', 1767225600000);
INSERT OR IGNORE INTO embed_partner_origins (account_id, partner_id, origin) VALUES ('01JDEM0ACC0VNT000000000001', '01JDEM0PARTNER000000000001', 'http://127.0.0.1:8790');
UPDATE embed_partners SET mailbox_id = (SELECT id FROM mailboxes WHERE account_id = '01JDEM0ACC0VNT000000000001' AND address = 'sales@demo.test') WHERE id = '01JDEM0PARTNER000000000001' AND mailbox_id IS NULL AND revoked_at IS NULL;
