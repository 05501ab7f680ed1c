from tests.voting.test_fuzz import *  # noqa: F401,F403
from tests.voting import test_fuzz as tf


def test_probe(app, fuzz, clients):
    for endpoint, method, rule in tf.GROUPS["consent"]:
        found = tf.fuzz_rule(app, fuzz, clients, endpoint, method, rule)
        print("PROBE", endpoint, method, found[:3])
        tf.heal(app, fuzz, clients)
