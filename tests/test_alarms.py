"""Alarms: up once per code, updated in place, cleared once."""
from appliance.alarms import Alarm, Alarms


def test_an_alarm_comes_up_once_keeps_its_time_and_goes_down_once():
    a = Alarms()
    assert a.raise_("calllog-held", "call log: disk full, 1 record held", 10.0) == Alarm(
        10.0, "calllog-held", "call log: disk full, 1 record held")
    assert a.raise_("calllog-held", "call log: disk full, 7 records held", 12.0) is None
    assert a.raise_("power", "on battery", 11.0) is not None
    assert a.current() == [Alarm(10.0, "calllog-held", "call log: disk full, 7 records held"),
                           Alarm(11.0, "power", "on battery")]
    assert a.clear("calllog-held").text == "call log: disk full, 7 records held"
    assert a.clear("calllog-held") is None
    assert [x.code for x in a.current()] == ["power"]
