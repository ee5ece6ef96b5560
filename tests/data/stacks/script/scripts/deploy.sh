#!/bin/sh
echo "deploying the reviewed version"
