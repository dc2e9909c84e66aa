#!/usr/bin/env python3
"""A recording endpoint of AWS End User Messaging SMS and voice v2 (pinpoint-sms-voice-v2) for the
end-to-end tests: moto does not serve this API, so the Lambda functions' SDK is pointed here
(AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2).

It speaks the API's JSON protocol (awsJson1_0: POST /, X-Amz-Target
PinpointSMSVoiceV2.<Operation>) for the two operations the service calls, and checks each request
as the service would be held to:

- SendVoiceMessage: signed (SigV4), the destination in E.164, the configured origination identity
  and voice, the body SSML (a <speak> document) that reads a 6-digit code twice. A call that
  passes is recorded with its words (the SSML's text); one that does not is refused with a
  ValidationException, as AWS would, so the test that made it fails.
- CarrierLookup: answers VOIP for numbers whose last four digits start with 01 after 555
  (+1NPA55501XX, fictional numbers), MOBILE for every other number.

GET /calls lists the recorded calls as JSON: [{"to", "origination", "voice", "ssml", "words"}].

Usage: voice_endpoint.py PORT ORIGINATION_IDENTITY VOICE_ID
"""

import json
import re
import sys
import threading
import uuid
import xml.etree.ElementTree as ElementTree
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, ORIGINATION, VOICE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
CALLS = []
LOCK = threading.Lock()


class Invalid(Exception):
    """A request AWS would refuse."""


def words_of(ssml):
    """The text a speech engine reads out of `ssml`, or Invalid."""
    try:
        root = ElementTree.fromstring(ssml)
    except ElementTree.ParseError as e:
        raise Invalid(f"MessageBody is not SSML: {e}") from e
    if root.tag != "speak":
        raise Invalid("SSML must be one <speak> element")
    return re.sub(r"\s+", " ", "".join(root.itertext())).strip()


def send_voice_message(request):
    to = request.get("DestinationPhoneNumber", "")
    if not E164.match(to):
        raise Invalid(f"DestinationPhoneNumber {to!r} is not E.164")
    if request.get("OriginationIdentity") != ORIGINATION:
        raise Invalid(f"OriginationIdentity {request.get('OriginationIdentity')!r} is not {ORIGINATION!r}")
    if request.get("VoiceId") != VOICE:
        raise Invalid(f"VoiceId {request.get('VoiceId')!r} is not {VOICE!r}")
    if request.get("MessageBodyTextType") != "SSML":
        raise Invalid("MessageBodyTextType must be SSML")
    words = words_of(request.get("MessageBody", ""))
    codes = re.findall(r"code is ([0-9]{6})\b", words)
    if len(codes) != 2 or codes[0] != codes[1]:
        raise Invalid(f"the call must read one 6-digit code twice: {words!r}")
    call = {"to": to, "origination": ORIGINATION, "voice": VOICE,
            "ssml": request["MessageBody"], "words": words}
    with LOCK:
        CALLS.append(call)
    return {"MessageId": str(uuid.uuid4())}


def carrier_lookup(request):
    number = request.get("PhoneNumber", "")
    if not E164.match(number):
        raise Invalid(f"PhoneNumber {number!r} is not E.164")
    voip = re.match(r"^\+1[0-9]{3}55501[0-9]{2}$", number) is not None
    return {"E164PhoneNumber": number, "PhoneNumberType": "VOIP" if voip else "MOBILE",
            "DialingCountryCode": "1", "IsoCountryCode": "US", "Country": "United States"}


OPERATIONS = {
    "PinpointSMSVoiceV2.SendVoiceMessage": send_voice_message,
    "PinpointSMSVoiceV2.CarrierLookup": carrier_lookup,
}


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/calls":
            with LOCK:
                self.answer(200, CALLS)
        else:
            self.answer(404, {"message": "GET /calls only"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        operation = OPERATIONS.get(self.headers.get("X-Amz-Target", ""))
        try:
            if operation is None:
                raise Invalid(f"unknown operation {self.headers.get('X-Amz-Target')!r}")
            if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
                raise Invalid("the request is not signed with SigV4")
            self.answer(200, operation(json.loads(body or b"{}")))
        except (Invalid, ValueError) as e:
            self.answer(400, {"__type": "ValidationException", "message": str(e)})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
