"""The password hasher: Argon2id with OWASP's recommended parameters.

Django's Argon2PasswordHasher defaults to 100 MiB of memory and 8 lanes per hash. On a 2-core web
node that is about 130 ms of CPU and 100 MiB of memory for every sign-in, so fifty colleagues
signing in at the start of a meeting queue for seconds, and a burst of wrong passwords costs the
node gigabytes. OWASP's Password Storage Cheat Sheet recommends Argon2id with at least 19 MiB of
memory, 2 iterations and 1 lane, which costs about 20 ms here. Login throttling (django-axes)
limits guessing online; these parameters keep offline guessing of a stolen hash expensive.

The algorithm keeps Django's name ("argon2"): hashes made with the old parameters still verify,
and Django rehashes them with these at the user's next sign-in (must_update)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
