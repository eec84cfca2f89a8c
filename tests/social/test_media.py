"""Media: upload, sniffing, re-encoding, limits, access-checked URLs, cleanup, S3 storage."""

from __future__ import annotations

import functools
import io
import struct
import threading
import uuid

import pytest
from PIL import Image

from smile.kit import runtime


def jpeg_with_exif(size=(3000, 1000)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "leaky-software"  # Software
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (0, 120, 255)).save(out, "PNG")
    return out.getvalue()


def animation_bomb(frames=120, side=2048) -> bytes:
    """A few KB of GIF: `frames` 1x1-pixel frames on a side x side canvas, each decoding to the full canvas."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", side, side, 0xF0, 0, 0) + b"\x00\x00\x00\xff\xff\xff")
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for i in range(frames):
        out += b"!\xf9\x04\x04\x0a\x00\x00\x00"  # graphic control: keep the previous frame, 100 ms
        out += b"," + struct.pack("<HHHHB", i % side, i % side, 1, 1, 0) + b"\x02\x02\x4c\x01\x00"  # one white pixel
    return bytes(out + b";")


def peak_rss_growth(fn) -> tuple[object, int]:
    """fn()'s result and the peak growth of this process's resident memory while it ran (sampled)."""
    page = 4096
    with open("/proc/self/statm") as f:
        before = int(f.read().split()[1]) * page
    peak, done = [before], threading.Event()

    def sample() -> None:
        with open("/proc/self/statm") as statm:
            while not done.is_set():
                statm.seek(0)
                peak[0] = max(peak[0], int(statm.read().split()[1]) * page)
                done.wait(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    return result, peak[0] - before


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2000


def upload(api, data: bytes, name="photo.jpg", ctype="image/jpeg", alt="a red square"):
    return api.post("/api/v1/media", files={"file": (name, data, ctype)}, data={"alt": alt})


def insert_post(db, author_id, visibility="public") -> uuid.UUID:
    post_id = uuid.uuid4()
    db.execute(
        "INSERT INTO posts (id, author_id, body, body_html, visibility, status, created_at) "
        "VALUES (%s, %s, 'hello', 'hello', %s, 'visible', now())",
        (post_id, author_id, visibility),
    )
    return post_id


def attach_row(db, media_id, post_id) -> None:
    db.execute("UPDATE media SET post_id = %s WHERE id = %s", (post_id, media_id))


def test_image_upload_is_reencoded_without_exif_and_has_a_thumbnail(signup):
    alice = signup("alice")
    r = upload(alice, jpeg_with_exif())
    assert r.status_code == 201, r.text
    media = r.json()
    assert media["kind"] == "image" and media["mime"] == "image/webp" and media["alt"] == "a red square"
    assert (media["width"], media["height"]) == (2048, 683)
    full = alice.get(media["url"])
    assert full.status_code == 200 and full.headers["content-type"] == "image/webp"
    assert b"SecretCam" not in full.content and b"leaky-software" not in full.content
    with Image.open(io.BytesIO(full.content)) as image:
        assert image.format == "WEBP" and image.size == (2048, 683)
        assert not image.getexif()
    thumb = alice.get(media["thumb_url"])
    assert thumb.status_code == 200
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 400


def test_type_is_sniffed_not_trusted(signup):
    alice = signup("alice")
    r = upload(alice, b"just some text, not a picture\n" * 10, name="evil.png", ctype="image/png")
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    r = upload(
        alice,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        name="x.gif",
        ctype="image/gif",
    )
    assert r.status_code == 415
    video = upload(alice, MP4, name="clip.txt", ctype="text/plain")  # a real MP4 with a lying name
    assert video.status_code == 201, video.text
    assert video.json()["kind"] == "video" and video.json()["mime"] == "video/mp4"
    assert video.json()["thumb_url"] is None


def test_alt_text_limit_and_missing_file(signup):
    alice = signup("alice")
    assert upload(alice, png(), alt="x" * 1501).status_code == 422
    r = alice.post("/api/v1/media", data={"alt": "no file"}, files={"other": ("a.txt", b"x", "text/plain")})
    assert r.status_code == 422 and "file" in r.json()["detail"].lower()


def test_too_large_is_refused_413(signup, server):
    alice = signup("alice")
    settings = runtime.current().settings
    before = settings.media_max_bytes
    settings.media_max_bytes = 4096
    try:
        r = upload(alice, png((400, 400)) + b"\x00" * 300_000)
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        # no Content-Length: refused while streaming, once the count passes the limit
        body, ctype = _multipart(png() + b"\x00" * 20_000)
        r = alice.post(
            "/api/v1/media",
            content=iter([body[i : i + 1000] for i in range(0, len(body), 1000)]),
            headers={"content-type": ctype},
        )
        assert r.status_code == 413
    finally:
        settings.media_max_bytes = before
    assert upload(alice, png()).status_code == 201


def _multipart(data: bytes, boundary="smileboundary42") -> tuple[bytes, str]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_unattached_media_only_for_its_owner(signup, client):
    alice, bob = signup("alice"), signup("bob")
    media = upload(alice, png()).json()
    assert alice.get(media["url"]).status_code == 200
    assert bob.get(media["url"]).status_code == 404
    assert client.get(media["url"]).status_code == 404
    assert bob.get(f"/api/v1/media/{media['id']}").status_code == 404


def test_followers_only_post_media(signup, client, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    db.execute(
        "INSERT INTO follows (follower_id, followee_id, status, created_at) VALUES (%s, %s, 'accepted', now())",
        (bob.user["id"], alice.user["id"]),
    )
    media = upload(alice, png()).json()
    r = alice.post(
        "/api/v1/posts", json={"body": "for my followers", "visibility": "followers", "media_ids": [media["id"]]}
    )
    assert r.status_code == 201, r.text
    assert [m["id"] for m in r.json()["media"]] == [media["id"]]
    for url in (media["url"], media["thumb_url"]):
        assert bob.get(url).status_code == 200
        assert carol.get(url).status_code == 404
        assert client.get(url).status_code == 404
        assert alice.get(url).status_code == 200
    # a block hides it from a follower too
    db.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (%s, %s, now())",
        (alice.user["id"], bob.user["id"]),
    )
    assert bob.get(media["url"]).status_code == 404


def test_private_account_and_deleted_post_media(signup, client, db):
    alice, bob = signup("alice"), signup("bob")
    media = upload(alice, png()).json()
    post_id = insert_post(db, alice.user["id"], "public")
    attach_row(db, media["id"], post_id)
    assert client.get(media["url"]).status_code == 200
    db.execute("UPDATE users SET is_private = true WHERE id = %s", (alice.user["id"],))
    assert bob.get(media["url"]).status_code == 404
    db.execute("UPDATE users SET is_private = false WHERE id = %s", (alice.user["id"],))
    db.execute("UPDATE posts SET deleted_at = now() WHERE id = %s", (post_id,))
    assert client.get(media["url"]).status_code == 404


def test_message_media_only_for_current_members(signup, db):
    alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
    media = upload(alice, png()).json()
    conv, msg = uuid.uuid4(), uuid.uuid4()
    db.execute("INSERT INTO conversations (id, kind, title, created_at) VALUES (%s, 'direct', '', now())", (conv,))
    for user in (alice, bob):
        db.execute(
            "INSERT INTO conversation_members (conversation_id, user_id, muted, created_at) "
            "VALUES (%s, %s, false, now())",
            (conv, user.user["id"]),
        )
    db.execute(
        "INSERT INTO messages (id, conversation_id, sender_id, body, body_html, status, created_at) "
        "VALUES (%s, %s, %s, 'pic', 'pic', 'visible', now())",
        (msg, conv, alice.user["id"]),
    )
    db.execute("UPDATE media SET message_id = %s WHERE id = %s", (msg, media["id"]))
    assert bob.get(media["url"]).status_code == 200
    assert carol.get(media["url"]).status_code == 404
    db.execute("UPDATE conversation_members SET left_at = now() WHERE user_id = %s", (bob.user["id"],))
    assert bob.get(media["url"]).status_code == 404


def test_attach_rules(signup, server):
    from sqlalchemy import text

    from smile.kit.errors import Invalid
    from smile.social.media.service import attach

    alice, bob = signup("alice"), signup("bob")
    images = [upload(alice, png()).json()["id"] for _ in range(5)]
    video = upload(alice, MP4, name="v.mp4", ctype="video/mp4").json()["id"]
    bobs = upload(bob, png()).json()["id"]
    owner = uuid.UUID(alice.user["id"])

    async def check(ids):
        async with runtime.current().db.session() as db:
            post_id = uuid.uuid4()
            await db.execute(
                text(
                    "INSERT INTO posts (id, author_id, body, body_html, visibility, status, created_at) "
                    "VALUES (:id, :a, '', '', 'public', 'visible', now())"
                ),
                {"id": post_id, "a": owner},
            )
            try:
                rows = await attach(db, owner, [uuid.UUID(i) for i in ids], post_id=post_id)
                return [str(m.id) for m in rows]
            except Invalid as exc:
                return exc.message
            finally:
                await db.rollback()

    assert "at most 4" in server.call(check(images))
    assert "either one video" in server.call(check(images[:1] + [video]))
    assert "not yours" in server.call(check([bobs]))
    assert server.call(check(images[:4])) == images[:4]
    assert server.call(check([video])) == [video]


def test_static_media_mount_does_not_serve_private_media(signup, client, settings, dsn):
    import psycopg

    alice = signup("alice")
    media = upload(alice, png()).json()
    with psycopg.connect(dsn) as conn:
        key = conn.execute("SELECT storage_key FROM media WHERE id = %s", (media["id"],)).fetchone()[0]
    assert (settings.media_dir / key).exists()  # it is on disk under the media root...
    for url in (f"/media/{key}", f"/media/avatars/../{key}", f"/media/avatars/%2e%2e/{key}"):
        assert alice.get(url).status_code == 404, url  # ...but never served by the public route
        assert client.get(url).status_code == 404, url
    # avatars stay public
    r = alice.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.png", png(), "image/png")})
    assert r.status_code == 200, r.text
    avatar = r.json()["avatar_url"]
    assert avatar.startswith("/media/avatars/")
    assert client.get(avatar).status_code == 200
    assert client.get(avatar).headers["content-type"] == "image/webp"


def test_stale_unattached_uploads_are_deleted(signup, server, db, settings):
    from smile.social.media.tasks import cleanup_unattached

    alice = signup("alice")
    old, fresh = upload(alice, png()).json(), upload(alice, png()).json()
    db.execute("UPDATE media SET created_at = now() - interval '25 hours' WHERE id = %s", (old["id"],))
    key = db.execute("SELECT storage_key FROM media WHERE id = %s", (old["id"],)).fetchone()[0]
    assert server.call(cleanup_unattached()) == 1
    assert not (settings.media_dir / key).exists()
    assert alice.get(old["url"]).status_code == 404
    assert alice.get(fresh["url"]).status_code == 200


def test_video_range_requests(signup):
    alice = signup("alice")
    media = upload(alice, MP4, name="v.mp4", ctype="video/mp4").json()
    r = alice.get(media["url"], headers={"Range": "bytes=4-11"})
    assert r.status_code == 206 and r.content == b"ftypmp42"
    assert r.headers["content-range"] == f"bytes 4-11/{len(MP4)}"
    assert alice.get(media["url"], headers={"Range": f"bytes={len(MP4) + 5}-"}).status_code == 416
    assert alice.get(media["url"]).content == MP4


def test_upload_streams_100_mb_with_bounded_memory(signup):
    """A 100 MB video goes to disk chunk by chunk: traced peak memory stays a few MB."""
    import tracemalloc

    alice = signup("alice")
    size = 100 * 1024 * 1024
    head, ctype = _multipart(b"")
    boundary_end = head[head.index(b"\r\n--smileboundary42--") :]
    head = head[: head.index(b"\r\n--smileboundary42--")]
    chunk = b"\x00" * (1024 * 1024)

    def body():  # exactly the limit: an MP4 header, then zeros
        yield head + MP4[:32] + chunk[32:]
        for _ in range(size // len(chunk) - 1):
            yield chunk
        yield boundary_end

    tracemalloc.start()
    try:
        r = alice.post("/api/v1/media", content=body(), headers={"content-type": ctype})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 201, r.text
    assert r.json()["size"] == size and r.json()["kind"] == "video"
    print(f"peak traced memory for a 100 MB upload: {peak / 1e6:.1f} MB")
    assert peak < 30 * 1024 * 1024
    ranged = alice.get(r.json()["url"], headers={"Range": "bytes=-32"})
    assert ranged.status_code == 206 and ranged.content == b"\x00" * 32


def _s3(endpoint: str, bucket: str):
    import boto3

    from smile.kit.storage import S3Storage

    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket=bucket)
    return S3Storage(bucket, endpoint_url=endpoint, region="us-east-1", access_key="test", secret_key="test")


def test_s3_storage_round_trip(s3_server, tmp_path):
    storage = _s3(s3_server, "smile-test")
    assert not storage.exists("avatars/a/x.webp")
    storage.save("avatars/a/x.webp", b"hello s3", "image/webp")
    assert storage.exists("avatars/a/x.webp") and storage.read("avatars/a/x.webp") == b"hello s3"
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 40_000)  # 10 MB: a multipart upload
    storage.save_file("private/u/v.mp4", big, "video/mp4")
    assert storage.size("private/u/v.mp4") == big.stat().st_size
    assert b"".join(storage.stream("private/u/v.mp4", 256, 511)) == bytes(range(256))
    assert b"".join(storage.stream("private/u/v.mp4")) == big.read_bytes()
    storage.delete("avatars/a/x.webp")
    assert not storage.exists("avatars/a/x.webp")
    with pytest.raises(FileNotFoundError):
        storage.read("avatars/a/x.webp")


def test_uploads_and_avatars_through_the_api_on_s3(s3_server, signup, client, settings):
    storage = _s3(s3_server, "smile-live")
    rt = runtime.current()
    before = rt.storage
    rt.storage = storage
    try:
        alice, bob = signup("alice"), signup("bob")
        media = upload(alice, jpeg_with_exif((800, 600))).json()
        assert media["width"] == 800
        keys = [o["Key"] for o in storage.client.list_objects_v2(Bucket="smile-live")["Contents"]]
        assert len(keys) == 2 and all(k.startswith(f"private/{alice.user['id']}/") for k in keys)
        assert not any((settings.media_dir / k).exists() for k in keys)  # nothing written locally
        got = alice.get(media["url"])
        assert got.status_code == 200 and got.content[:4] == b"RIFF"
        assert alice.get(media["thumb_url"]).status_code == 200
        assert bob.get(media["url"]).status_code == 404
        r = alice.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.png", png(), "image/png")})
        assert r.status_code == 200, r.text
        avatar = client.get(r.json()["avatar_url"])
        assert avatar.status_code == 200 and avatar.content[:4] == b"RIFF"
        video = upload(alice, MP4, name="v.mp4", ctype="video/mp4").json()
        ranged = alice.get(video["url"], headers={"Range": "bytes=4-11"})
        assert ranged.status_code == 206 and ranged.content == b"ftypmp42"
    finally:
        rt.storage = before


def test_uploads_are_rate_limited_per_user(signup):
    alice, bob = signup("alice"), signup("bob")
    settings = runtime.current().settings
    before = settings.rate_media_upload
    settings.rate_media_upload = "2/minute"
    try:
        assert [upload(alice, png()).status_code for _ in range(3)] == [201, 201, 429]
        assert upload(bob, png()).status_code == 201  # per user
    finally:
        settings.rate_media_upload = before


def test_animation_bomb_is_refused_before_decoding(signup):
    """120 frames of 2048x2048 in a few KB (the 576 KB GIF that took the server to 2.27 GB): 422, at once."""
    alice = signup("alice")
    r = upload(alice, animation_bomb(), name="party.gif", ctype="image/gif")
    assert r.status_code == 422, r.text
    assert r.json()["fields"] == {"file": "too_many_pixels"} and "120 frames of 2048x2048" in r.json()["detail"]
    small = upload(alice, animation_bomb(frames=3, side=300), name="ok.gif", ctype="image/gif")
    assert small.status_code == 201, small.text
    with Image.open(io.BytesIO(alice.get(small.json()["url"]).content)) as image:
        assert image.format == "WEBP" and image.n_frames == 3 and image.size == (300, 300)
    # avatars decode the first frame only, under the same bound
    avatar = alice.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.gif", animation_bomb(), "image/gif")})
    assert avatar.status_code == 200, avatar.text
    huge = alice.request(
        "PUT", "/api/v1/users/me/avatar", files={"file": ("a.gif", animation_bomb(frames=1, side=8000), "image/gif")}
    )
    assert huge.status_code == 422 and huge.json()["fields"] == {"file": "too_many_pixels"}


def test_animation_memory_does_not_grow_with_frames(tmp_path):
    """Frames are decoded, resized and encoded one at a time: the peak is about one frame's worth."""
    from smile.config import Settings
    from smile.kit.errors import Invalid
    from smile.social.media.processing import process

    bomb = tmp_path / "bomb.gif"
    bomb.write_bytes(animation_bomb())
    default = Settings.model_fields["media_max_decoded_pixels"].default
    (_, growth_refused) = peak_rss_growth(lambda: pytest.raises(Invalid, process, bomb, default))
    assert growth_refused < 10 * 1024 * 1024  # refused from the header, nothing decoded
    growth = {}
    for frames in (4, 16):
        path = tmp_path / f"{frames}.gif"
        path.write_bytes(animation_bomb(frames=frames))
        done, growth[frames] = peak_rss_growth(functools.partial(process, path, 10**9))
        assert done.width == 2048
        with Image.open(io.BytesIO(done.image)) as image:
            assert image.n_frames == frames
    print(f"peak RSS growth: {growth[4] / 1e6:.0f} MB for 4 frames, {growth[16] / 1e6:.0f} MB for 16")
    # Holding every decoded RGBA frame costs 16 MB each: 12 more frames would be ~200 MB more.
    assert growth[16] - growth[4] < 60 * 1024 * 1024
    assert growth[16] < 250 * 1024 * 1024
