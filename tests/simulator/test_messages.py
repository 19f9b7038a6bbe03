from __future__ import annotations

import re
import time

MESSAGE_ID = re.compile(r"true_(\d+)@c\.us_3EB0[0-9A-F]{20}")


def test_send_message_needs_a_connected_session(sim, api):
    response = api.send("5521999999999")

    assert response.status_code == 404
    assert response.json()["message"] == "A sessão do WhatsApp não está ativa."


def test_send_message_answers_201_with_the_message(sim, api):
    api.connect(phone="5521911112222")

    response = api.send("5521999999999", "olá")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    assert body["mapper"] == "return"
    [msg] = body["response"]
    assert MESSAGE_ID.fullmatch(msg["id"])
    assert msg["ack"] == 1
    assert msg["fromMe"] is True
    assert msg["from"] == "5521911112222@c.us"
    assert msg["to"] == msg["chatId"] == "5521999999999@c.us"
    assert msg["body"] == msg["content"] == "olá"
    assert msg["type"] == "chat"
    assert msg["isGroupMsg"] is False
    assert abs(msg["t"] - time.time()) < 5


def test_send_message_normalises_phones_like_the_server(sim, api):
    api.connect()

    formatted = api.send("+55 (21) 99999-9999".replace(" ", "")).json()["response"]
    listed = api.send("5521911111111, 5521922222222;5521933333333").json()["response"]
    array = api.send(["5521944444444@c.us", "5521955555555"]).json()["response"]
    lid = api.send("123456789012345").json()["response"]
    with_space = api.send("5521 966666666").json()["response"]

    assert [m["to"] for m in formatted] == ["5521999999999@c.us"]
    assert [m["to"] for m in listed] == [
        "5521911111111@c.us",
        "5521922222222@c.us",
        "5521933333333@c.us",
    ]
    assert [m["to"] for m in array] == ["5521944444444@c.us", "5521955555555@c.us"]
    assert lid[0]["to"] == "123456789012345@lid"
    assert with_space[0]["to"] == "5521 966666666@c.us"


def test_unknown_numbers_are_a_400(sim, api):
    api.connect()
    sim.set_unknown_numbers(["5521912345678"])

    by_rule = api.send("5521990000000")
    by_list = api.send("+55 21 91234-5678".replace(" ", ""))

    assert by_rule.status_code == 400
    assert by_rule.json() == {
        "response": None,
        "status": "Connected",
        "message": "O número 5521990000000 não existe.",
        "session": "demo",
    }
    assert by_list.status_code == 400
    assert sim.ledger() == []


def test_an_empty_phone_is_a_400_with_a_bare_string(sim, api):
    api.connect()

    response = api.send("+()-")

    assert response.status_code == 400
    assert response.json() == "Error sending message"


def test_the_ledger_records_accepted_sends(sim, api):
    api.connect()
    first = api.send("5521911111111", "first").json()["response"][0]
    api.send("5521922222222", "second")

    everything = sim.ledger()
    by_phone = sim.ledger(phone="+55 21 91111-1111")
    by_message = sim.ledger(message="seco")

    assert [e["body"] for e in everything] == ["first", "second"]
    assert by_phone == [
        {
            "id": first["id"],
            "session": "demo",
            "phone": "5521911111111",
            "to": "5521911111111@c.us",
            "body": "first",
            "t": by_phone[0]["t"],
            "route": "send-message",
            "type": "chat",
            "is_group": False,
            "caption": "",
            "filename": "",
            "mimetype": "",
            "size": None,
            "sha256": None,
            "quoted": "",
            "lat": None,
            "lng": None,
        }
    ]
    assert [e["phone"] for e in by_message] == ["5521922222222"]
    assert sim.sends() == 2  # the count benchmarks poll, without the ledger's JSON


def test_acks_arrive_as_onack_webhooks_with_an_object_id(sim, api, receiver):
    sim.set_acks(0.05, 0.1)
    api.connect(webhook=receiver.url)

    msg = api.send("5521999999999").json()["response"][0]

    delivered = receiver.wait_for("onack", ack=2)
    read = receiver.wait_for("onack", ack=3)
    assert delivered["id"]["_serialized"] == msg["id"]
    assert delivered["id"]["fromMe"] is True
    assert delivered["id"]["remote"] == "5521999999999@c.us"
    assert msg["id"].endswith(delivered["id"]["id"])
    assert read["to"] == "5521999999999@c.us"
    assert read["body"] == "hello"


def test_acks_can_be_switched_off_and_fired_by_hand(sim, api, receiver):
    sim.set_acks(None, None)
    api.connect(webhook=receiver.url)
    msg = api.send("5521999999999").json()["response"][0]
    time.sleep(0.3)
    assert "onack" not in receiver.names()

    sim.ack(msg["id"], 3)

    assert receiver.wait_for("onack")["ack"] == 3
    assert api.get(f"message-by-id/{msg['id']}").json()["response"]["data"]["ack"] == 3


def test_incoming_messages_become_onmessage_webhooks(sim, api, receiver):
    api.connect(webhook=receiver.url, phone="5521911112222")

    sim.incoming("demo", "+55 21 98888-7777", "oi")

    event = receiver.wait_for("onmessage")
    assert event["session"] == "demo"
    assert event["from"] == "5521988887777@c.us"
    assert event["to"] == "5521911112222@c.us"
    assert event["chatId"] == "5521988887777@c.us"
    assert event["body"] == "oi"
    assert event["type"] == "chat"
    assert event["fromMe"] is False
    assert event["isGroupMsg"] is False
    assert isinstance(event["id"], str)
    assert event["sender"]["id"] == "5521988887777@c.us"
    assert event["notifyName"]


def test_lid_group_and_quoted_messages_have_whatsapps_layouts(sim, api, receiver):
    api.connect(webhook=receiver.url)
    first = sim.incoming("demo", "37233239318535", "by lid", lid=True, push_name="Lia")
    by_lid = receiver.wait_for("onmessage", body="by lid")
    sim.incoming(
        "demo", "5521988887777", "in group", group="120363025246125486", quoted=first["id"]
    )
    in_group = receiver.wait_for("onmessage", body="in group")

    assert by_lid["from"] == by_lid["chatId"] == by_lid["sender"]["id"] == "37233239318535@lid"
    assert by_lid["id"].startswith("false_37233239318535@lid_") and "author" not in by_lid
    assert by_lid["notifyName"] == by_lid["sender"]["pushname"] == "Lia"
    assert in_group["from"] == in_group["chatId"] == "120363025246125486@g.us"
    assert in_group["isGroupMsg"] is True
    assert in_group["author"] == in_group["sender"]["id"] == "5521988887777@c.us"
    assert in_group["id"].endswith("_5521988887777@c.us")
    assert in_group["quotedMsgId"] == first["id"]


def test_an_error_ack_is_fired_and_kept(sim, api, receiver):
    api.connect(webhook=receiver.url)
    msg = api.send("5521999999999", "refused").json()["response"][0]

    sim.ack(msg["id"], -1)

    assert receiver.wait_for("onack", ack=-1)["ack"] == -1
    assert api.get(f"message-by-id/{msg['id']}").json()["response"]["data"]["ack"] == -1


def test_message_by_id_finds_a_sent_message(sim, api):
    api.connect()
    msg = api.send("5521999999999", "find me").json()["response"][0]

    found = api.get(f"message-by-id/{msg['id']}")
    missing = api.get("message-by-id/true_5521999999999@c.us_3EB0000000000000000000AA")

    assert found.status_code == 201
    assert found.json()["status"] == "Success"
    response = found.json()["response"]
    assert response["message"] == "Information retrieved successfully."
    assert response["contact"] == "5521999999999"
    assert response["session"] == "demo"
    assert response["data"]["id"] == msg["id"]
    assert response["data"]["fromMe"] is True
    assert response["data"]["body"] == "find me"
    assert missing.status_code == 400
    assert missing.json()["status"] == "Error"
    assert missing.json()["response"]["message"] == "Error retrieving information"


def test_get_messages_lists_the_chat_newest_last(sim, api):
    api.connect()
    ids = [api.send("5521999999999", f"m{i}").json()["response"][0]["id"] for i in range(3)]
    sim.incoming("demo", "5521999999999", "reply")
    api.send("5521988888888", "elsewhere")

    everything = api.get("get-messages/5521999999999@c.us").json()
    last_two = api.get("get-messages/5521999999999@c.us", params={"count": 2}).json()
    bare = api.get("get-messages/5521999999999").json()
    all_in_chat = api.get("all-messages-in-chat/5521999999999").json()

    assert everything["status"] == "success"
    assert [m["body"] for m in everything["response"]] == ["m0", "m1", "m2", "reply"]
    assert [m["id"] for m in everything["response"][:3]] == ids
    assert all(m["fromMe"] for m in everything["response"][:3])
    assert everything["response"][3]["fromMe"] is False
    assert [m["body"] for m in last_two["response"]] == ["m2", "reply"]
    assert bare["response"] == everything["response"]
    assert [m["body"] for m in all_in_chat["response"]] == ["m0", "m1", "m2", "reply"]
    assert {"id", "body", "t", "ack", "fromMe"} <= set(everything["response"][0])


def test_message_lookups_are_gated(sim, api):
    assert api.get("get-messages/5521999999999@c.us").status_code == 404
    assert api.get("message-by-id/x").status_code == 404
