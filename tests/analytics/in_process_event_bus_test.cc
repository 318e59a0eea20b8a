#include "analytics/in_process_event_bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::analytics {
namespace {

using std::chrono::milliseconds;

Event Make(std::string type, int n, std::string session = "s1") {
  Event e;
  e.type = std::move(type);
  e.session_id = std::move(session);
  e.time_ms = 1700000000000 + n;
  e.data = {{"n", n}};
  return e;
}

std::vector<std::string> Drain(Subscription& sub) {
  std::vector<std::string> out;
  Event e;
  while (sub.Poll(&e)) out.push_back(e.type + "#" + std::to_string(e.data["n"].get<int>()));
  return out;
}

TEST(EventBusTest, TypeMatchesIsAPlainPrefix) {
  EXPECT_TRUE(EventBus::TypeMatches("", "session.qos"));
  EXPECT_TRUE(EventBus::TypeMatches("session.", "session.qos"));
  EXPECT_TRUE(EventBus::TypeMatches("session.qos", "session.qos"));
  EXPECT_FALSE(EventBus::TypeMatches("session.qos", "session.q"));
  EXPECT_FALSE(EventBus::TypeMatches("session.", "node.joined"));
}

TEST(InProcessEventBusTest, DeliversByPrefixInOrder) {
  InProcessEventBus bus;
  auto all = bus.Subscribe("", 100);
  auto session = bus.Subscribe("session.", 100);
  auto qos = bus.Subscribe("session.qos", 100);
  auto node = bus.Subscribe("node.", 100);
  bus.Publish(Make("session.started", 1));
  bus.Publish(Make("session.qos", 2));
  bus.Publish(Make("node.joined", 3));
  bus.Publish(Make("session.qos", 4));
  bus.Publish(Make("voiceprint.enrolled", 5));
  EXPECT_EQ(Drain(*all),
            (std::vector<std::string>{"session.started#1", "session.qos#2", "node.joined#3",
                                      "session.qos#4", "voiceprint.enrolled#5"}));
  EXPECT_EQ(Drain(*session),
            (std::vector<std::string>{"session.started#1", "session.qos#2", "session.qos#4"}));
  EXPECT_EQ(Drain(*qos), (std::vector<std::string>{"session.qos#2", "session.qos#4"}));
  EXPECT_EQ(Drain(*node), (std::vector<std::string>{"node.joined#3"}));
  EXPECT_EQ(bus.published(), 5u);
  EXPECT_EQ(qos->type_prefix(), "session.qos");
}

TEST(InProcessEventBusTest, EventContentArrivesIntact) {
  InProcessEventBus bus;
  auto sub = bus.Subscribe("session.", 4);
  Event sent = Make("session.score", 7, "call-42");
  sent.data["score"] = 0.875;
  bus.Publish(sent);
  Event got;
  ASSERT_TRUE(sub->Poll(&got));
  EXPECT_EQ(got.ToJson(), sent.ToJson());
  EXPECT_FALSE(sub->Poll(&got));
}

TEST(InProcessEventBusTest, EventsBeforeSubscribingAreNotDelivered) {
  InProcessEventBus bus;
  bus.Publish(Make("session.started", 1));
  auto sub = bus.Subscribe("", 4);
  Event e;
  EXPECT_FALSE(sub->Poll(&e));
  EXPECT_FALSE(sub->WaitFor(&e, milliseconds(10)));
}

TEST(InProcessEventBusTest, FullQueueDropsTheOldest) {
  InProcessEventBus bus;
  auto sub = bus.Subscribe("", 3);
  for (int i = 1; i <= 5; ++i) bus.Publish(Make("session.vad", i));
  EXPECT_EQ(sub->dropped(), 2u);
  EXPECT_EQ(Drain(*sub),
            (std::vector<std::string>{"session.vad#3", "session.vad#4", "session.vad#5"}));
  // Capacity 0 means 1: the newest survives.
  auto tiny = bus.Subscribe("", 0);
  bus.Publish(Make("a", 1));
  bus.Publish(Make("a", 2));
  EXPECT_EQ(Drain(*tiny), (std::vector<std::string>{"a#2"}));
  EXPECT_EQ(tiny->dropped(), 1u);
}

TEST(InProcessEventBusTest, WaitForWakesOnPublish) {
  InProcessEventBus bus;
  auto sub = bus.Subscribe("session.", 4);
  std::thread publisher([&] {
    std::this_thread::sleep_for(milliseconds(20));
    bus.Publish(Make("node.left", 1));  // not for this subscriber
    bus.Publish(Make("session.ended", 2));
  });
  Event e;
  ASSERT_TRUE(sub->WaitFor(&e, milliseconds(10000)));
  EXPECT_EQ(e.type, "session.ended");
  publisher.join();
}

TEST(InProcessEventBusTest, CancelWakesTheWaiterAndStopsDelivery) {
  InProcessEventBus bus;
  auto sub = bus.Subscribe("", 4);
  auto other = bus.Subscribe("", 4);
  bus.Publish(Make("x", 1));
  EXPECT_EQ(bus.subscriber_count(), 2u);
  std::atomic<bool> returned{false};
  bool got = true;
  std::thread waiter([&] {
    Event e;
    Event ignored;
    sub->Poll(&ignored);  // take the queued one, then wait for more
    got = sub->WaitFor(&e, milliseconds(60000));
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(20));
  sub->Cancel();
  waiter.join();  // would hang for a minute if Cancel did not wake it
  EXPECT_TRUE(returned);
  EXPECT_FALSE(got);
  EXPECT_TRUE(sub->cancelled());
  bus.Publish(Make("x", 2));
  Event e;
  EXPECT_FALSE(sub->Poll(&e));
  EXPECT_EQ(bus.subscriber_count(), 1u);
  sub->Cancel();  // idempotent
  EXPECT_EQ(Drain(*other), (std::vector<std::string>{"x#1", "x#2"}));
}

TEST(InProcessEventBusTest, DestroyedSubscriptionsAreForgotten) {
  InProcessEventBus bus;
  auto keep = bus.Subscribe("", 4);
  { auto gone = bus.Subscribe("", 4); }
  EXPECT_EQ(bus.subscriber_count(), 1u);
  bus.Publish(Make("x", 1));
  EXPECT_EQ(Drain(*keep).size(), 1u);
}

TEST(InProcessEventBusTest, SubscriptionMayOutliveTheBus) {
  std::shared_ptr<Subscription> sub;
  {
    InProcessEventBus bus;
    sub = bus.Subscribe("", 4);
    bus.Publish(Make("x", 1));
  }
  Event e;
  EXPECT_TRUE(sub->Poll(&e));
  EXPECT_FALSE(sub->WaitFor(&e, milliseconds(5)));
}

TEST(InProcessEventBusTest, ConcurrentPublishersAndFilteringSubscribers) {
  InProcessEventBus bus;
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 2000;
  // Big enough never to drop: every "a." event must arrive, each publisher's in order.
  auto a = bus.Subscribe("a.", kPublishers * kPerPublisher);
  auto b = bus.Subscribe("b.", 16);  // small and read slowly: drops, never blocks publishers
  auto all = bus.Subscribe("", 64);  // never read
  std::atomic<int> publishers_done{0};

  std::map<std::string, int> last_seen;  // per publisher, the last n received by `a`
  int a_received = 0;
  bool a_in_order = true;
  std::thread consumer([&] {
    Event e;
    while (a_received < kPublishers * kPerPublisher) {
      if (!a->WaitFor(&e, milliseconds(10000))) break;
      if (e.type != "a.x") a_in_order = false;
      int n = e.data["n"].get<int>();
      auto [it, fresh] = last_seen.try_emplace(e.session_id, -1);
      if (n <= it->second) a_in_order = false;
      it->second = n;
      ++a_received;
    }
  });
  uint64_t b_received = 0;
  std::thread slow([&] {
    Event e;
    while (true) {
      if (b->Poll(&e)) {
        ++b_received;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      } else if (publishers_done.load() == kPublishers) {
        while (b->Poll(&e)) ++b_received;  // everything is published: take the rest
        break;
      } else {
        std::this_thread::yield();
      }
    }
  });
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) {
        bus.Publish(Make(i % 2 == 0 ? "a.x" : "b.y", i, "pub" + std::to_string(p)));
        // Odd-numbered are "b.y"; publish an extra "a.x" so "a." gets kPerPublisher per publisher.
        if (i % 2 == 1) bus.Publish(Make("a.x", i, "pub" + std::to_string(p)));
      }
      ++publishers_done;
    });
  }
  for (auto& t : publishers) t.join();
  consumer.join();
  slow.join();

  EXPECT_EQ(a_received, kPublishers * kPerPublisher);
  EXPECT_TRUE(a_in_order);
  EXPECT_EQ(a->dropped(), 0u);
  const uint64_t b_published = kPublishers * kPerPublisher / 2;
  EXPECT_EQ(b_received + b->dropped(), b_published);
  EXPECT_EQ(all->dropped(), bus.published() - 64);
  EXPECT_EQ(bus.published(), static_cast<uint64_t>(kPublishers * kPerPublisher * 3 / 2));
}

}  // namespace
}  // namespace voxgate::analytics
