"""Placeholder handler of the AIPX cold-path Lambdas until each service's real code ships.

Terraform packages this file for strategy-worker, cognitive, notification and recorder; after the first
deployment the services' own pipelines replace the code and Terraform leaves it alone.
"""

import json
import os


def handler(event, context):
    service = os.environ.get("SERVICE_NAME", "unknown")
    body = {
        "service": service,
        "environment": os.environ.get("ENVIRONMENT", "unknown"),
        "status": "placeholder",
        "message": f"{service} is provisioned; its application code has not been deployed yet.",
    }
    # API Gateway (cognitive) expects an HTTP response; event-driven invocations just get the body.
    if isinstance(event, dict) and "requestContext" in event:
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
    return body
