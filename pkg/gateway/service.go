package gateway

import (
	pbv1 "github.com/cloudevents-conductor/conductor/pkg/cloudevents/pb/v1"
)

// service implements pbv1.CloudEventServiceServer on a Gateway.
type service struct {
	pbv1.UnimplementedCloudEventServiceServer
	g *Gateway
}
