-- Why a device was revoked, told to the phone before it erases itself.
ALTER TABLE device_tokens ADD COLUMN revoke_reason TEXT;
