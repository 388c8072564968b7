"""Turns on moto's authentication, with the render function's own permissions, for Rendition's S3 tests.

Usage: python3 moto_iam.py ENDPOINT TEMPLATE
Creates two IAM users while moto still accepts anonymous calls: `admin` (everything: the tests' boto3 helper,
which creates buckets and uploads originals) and `function`, whose policy is the RenderFunction's policy in
deploy/template.yaml with the stack's bucket names mapped to the tests' buckets (originals-*, renditions-*).
Then it tells moto to authenticate every later request, so a wrong signature or a permission the template
does not grant fails as it would on AWS. Prints {"admin": [id, secret], "function": [id, secret]}.

Two moto differences are translated, each where the template grants the permission AWS would check:
- HeadBucket: AWS authorizes it with s3:ListBucket; moto asks for s3:HeadBucket.
- DeleteObjects: AWS checks s3:DeleteObject per key; moto first checks it on the bucket itself.
- Other services (cloudfront:CreateInvalidation): moto checks them against the resource "*", not the ARN.
"""
import json
import sys
import urllib.request

import boto3
import yaml

ENDPOINT, TEMPLATE = sys.argv[1], sys.argv[2]
NAMES = {
    "${AWS::StackName}-originals-${AWS::AccountId}": "originals-*",
    "${AWS::StackName}-renditions-${AWS::AccountId}": "renditions-*",
    "${AWS::Partition}": "aws",
    "${AWS::AccountId}": "123456789012",
    "${InvalidationDistributionId}": "*",
}


class Loader(yaml.SafeLoader):
    pass


def tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Fn::" + suffix if suffix not in ("Ref",) else "Ref": value}


Loader.add_multi_constructor("!", tagged)


def resolve(value):
    """The template's value with !Sub names mapped, the true branch of !If, and AWS::NoValue dropped."""
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            for name, replacement in NAMES.items():
                text = text.replace(name, replacement)
            if "${" in text:
                raise SystemExit("moto_iam.py: cannot map %s in the template's policy" % text)
            return text
        if "Fn::If" in value:
            return resolve(value["Fn::If"][1])
        if value.get("Ref") == "AWS::NoValue":
            return None
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [r for r in (resolve(v) for v in value) if r is not None]
    return value


template = yaml.load(open(TEMPLATE), Loader=Loader)
statements = []
for policy in resolve(template["Resources"]["RenderFunction"]["Properties"]["Policies"]):
    statements += policy["Statement"]
for statement in list(statements):
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if "s3:ListBucket" in actions:
        statements.append({"Effect": "Allow", "Action": "s3:HeadBucket", "Resource": resources})
    if any(not action.startswith("s3:") for action in actions):
        statements.append({"Effect": "Allow", "Action": actions, "Resource": "*"})
    if "s3:DeleteObject" in actions:
        buckets = [r[: -len("/*")] for r in resources if r.endswith("/*")]
        statements.append({"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": buckets})

iam = boto3.client("iam", endpoint_url=ENDPOINT, region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
keys = {}
for user, document in [
    ("admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    ("function", {"Version": "2012-10-17", "Statement": statements}),
]:
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName=user, PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    keys[user] = [key["AccessKeyId"], key["SecretAccessKey"]]

request = urllib.request.Request(
    ENDPOINT + "/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"})
urllib.request.urlopen(request).read()
print(json.dumps(keys))
