"""Signs generated S3 requests with botocore, for the differential test of Rendition's SigV4 signer.

Prints one JSON object per line: the request as Rendition's signer takes it (decoded path and query,
headers, payload hash) and what botocore produced (X-Amz-Date, canonical request, Authorization).
Run: python3 botocore_sign.py COUNT SEED
"""
import json
import random
import sys
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ALPHABET = list("abcXYZ019-_.~ +%/!$&'()*,;=:@") + ["ü", "é", "日", "本", "😀", "//"]


def random_text(rng, low, high):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    for index in range(count):
        region = rng.choice(["us-east-1", "eu-west-3", "ap-southeast-2"])
        token = rng.choice([None, "FwoGZXIvYXdzE" + str(index)])
        creds = Credentials("AKIDEXAMPLE%d" % index, "secret/%d+key" % index, token)
        bucket = "bucket-%d" % rng.randint(0, 99)
        key = random_text(rng, 1, 24).lstrip("/") or "k"
        path = "/" + bucket + "/" + key
        query = []
        for _ in range(rng.randint(0, 3)):
            query.append((random_text(rng, 1, 6), random_text(rng, 0, 8)))
        url = "https://s3.%s.amazonaws.com%s" % (region, quote(path, safe="/~"))
        if query:
            url += "?" + "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query)
        method = rng.choice(["GET", "HEAD", "PUT", "DELETE"])
        body = b"" if method != "PUT" else random_text(rng, 0, 40).encode()
        headers = {"Host": "s3.%s.amazonaws.com" % region}
        for name in rng.sample(["Content-Type", "Cache-Control", "X-Amz-Meta-Owner", "If-None-Match", "X-Amz-Meta-Note"], rng.randint(0, 3)):
            headers[name] = rng.choice(["image/webp", "public,  max-age=60", "  padded  value  ", "*", "a  b   c"])
        unsigned = rng.random() < 0.3
        request = AWSRequest(method=method, url=url, headers=headers, data=body)
        request.context["client_config"] = Config(s3={"payload_signing_enabled": not unsigned})
        signer = S3SigV4Auth(creds, "s3", region)
        signer.add_auth(request)
        authorization = request.headers["Authorization"]
        del request.headers["Authorization"]  # the canonical request is computed without it
        canonical = signer.canonical_request(request)
        print(json.dumps({
            "accessKeyID": creds.access_key, "secretAccessKey": creds.secret_key, "sessionToken": token,
            "region": region, "method": method, "path": path, "query": query,
            "headers": [[k, v] for k, v in headers.items()],
            "payloadHash": request.headers["X-Amz-Content-SHA256"],
            "amzDate": request.headers["X-Amz-Date"],
            "canonicalRequest": canonical,
            "authorization": authorization,
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
