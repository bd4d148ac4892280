-- The demo account for local development. Idempotent: every row has a fixed id and is inserted
-- with INSERT OR IGNORE, so running it again changes nothing.
INSERT OR IGNORE INTO accounts (id, name, created_at) VALUES ('01JDEM0ACC0VNT000000000001', 'Demo Co', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000001', '01JDEM0ACC0VNT000000000001', 'alex@demo.test', 'Alex Owner', 'owner', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000002', '01JDEM0ACC0VNT000000000001', 'ben@demo.test', 'Ben Member', 'member', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000003', '01JDEM0ACC0VNT000000000001', 'cara@demo.test', 'Cara Light', 'light', 1767225600000);
INSERT OR IGNORE INTO users (id, account_id, email, name, role, created_at) VALUES ('01JDEM0VSER000000000000004', '01JDEM0ACC0VNT000000000001', 'dana@demo.test', 'Dana Admin', 'admin', 1767225600000);
