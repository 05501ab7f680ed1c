import time, pytest
from tests.voting.test_crash_fault import *  # noqa
from tests.voting import test_crash_fault as m

def test_dbg(scenario):
    phone = scenario.client("B1")
    vote_id = scenario.open("motion")
    proxy = m.LossyProxy(int(scenario.base_url.rsplit(":", 1)[1]))
    phone.base_url = proxy.url
    t = time.time()
    signed = phone.sign_ballot(phone.vote_info(vote_id), "abstain")
    print("info", time.time() - t)
    proxy.drop_answers = True
    t = time.time()
    try:
        phone.submit(vote_id, signed)
    except Exception as e:
        print("exc", repr(e), time.time() - t)
    proxy.drop_answers = False
    t = time.time()
    print(phone.submit(vote_id, signed)[0], time.time() - t)
