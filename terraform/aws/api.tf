# HTTP API in front of the cognitive Lambda. Callers sign requests with SigV4 (AWS_IAM authorization);
# a JWT authorizer can replace it once the product's identity provider exists.
resource "aws_apigatewayv2_api" "cognitive" {
  name          = "${local.name}-cognitive"
  description   = "Cognitive service API of ${local.name}"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "cognitive" {
  api_id                 = aws_apigatewayv2_api.cognitive.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.this["cognitive"].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "cognitive" {
  api_id             = aws_apigatewayv2_api.cognitive.id
  route_key          = "ANY /{proxy+}"
  target             = "integrations/${aws_apigatewayv2_integration.cognitive.id}"
  authorization_type = "AWS_IAM"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.cognitive.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    detailed_metrics_enabled = true
    throttling_burst_limit   = 100
    throttling_rate_limit    = 50
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.this["api-cognitive"].arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLatency    = "$context.responseLatency"
      integrationError   = "$context.integrationErrorMessage"
      callerPrincipalArn = "$context.identity.userArn"
      sourceIp           = "$context.identity.sourceIp"
    })
  }
}

resource "aws_lambda_permission" "cognitive_api" {
  statement_id  = "AllowInvokeFromCognitiveApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["cognitive"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.cognitive.execution_arn}/*/*"
}
