"""Security primitives: argon2id passwords, keyed token hashes, JWT purposes, secret encryption."""

import jwt

from smile.kit import security

SECRET = "s" * 48


def test_password_hash_and_verify():
    hashed = security.hash_password("Correct-Horse-42")
    assert hashed.startswith("$argon2id$")
    assert "Correct-Horse-42" not in hashed
    assert security.verify_password(hashed, "Correct-Horse-42")
    assert not security.verify_password(hashed, "correct-horse-42")
    assert not security.verify_password(None, "Correct-Horse-42")
    assert not security.verify_password("not-a-hash", "Correct-Horse-42")
    assert not security.needs_rehash(hashed)
    assert security.hash_password("Correct-Horse-42") != hashed  # salted


def test_token_hash_is_keyed_and_stable():
    token = security.new_token()
    assert len(token) >= 40
    assert security.hash_token(token, SECRET) == security.hash_token(token, SECRET)
    assert security.hash_token(token, SECRET) != security.hash_token(token, "other" * 10)
    assert security.tokens_equal(token, token) and not security.tokens_equal(token, token + "x")


def test_codes_are_six_digits():
    codes = {security.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_jwt_checks_purpose_secret_and_expiry():
    token = security.encode_jwt({"sub": "u1", "typ": "access"}, SECRET, minutes=5)
    claims = security.decode_jwt(token, SECRET, "access")
    assert claims is not None and claims["sub"] == "u1"
    assert security.decode_jwt(token, SECRET, "refresh") is None
    assert security.decode_jwt(token, "x" * 48, "access") is None
    expired = security.encode_jwt({"sub": "u1", "typ": "access"}, SECRET, minutes=-1)
    assert security.decode_jwt(expired, SECRET, "access") is None
    no_exp = jwt.encode({"sub": "u1", "typ": "access"}, SECRET, algorithm="HS256")
    assert security.decode_jwt(no_exp, SECRET, "access") is None
    unsigned = jwt.encode({"sub": "u1", "typ": "access", "exp": 9999999999, "iat": 1}, None, algorithm="none")
    assert security.decode_jwt(unsigned, SECRET, "access") is None
    assert security.decode_jwt("garbage", SECRET, "access") is None


def test_encrypt_decrypt():
    sealed = security.encrypt("totp-secret-value", SECRET)
    assert "totp-secret-value" not in sealed
    assert security.decrypt(sealed, SECRET) == "totp-secret-value"
    assert security.decrypt(sealed, "o" * 48) is None
    assert security.decrypt("tampered" + sealed, SECRET) is None
    assert security.encrypt("totp-secret-value", SECRET) != sealed  # random IV
