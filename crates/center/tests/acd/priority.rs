//! The order waiting calls are answered in.

use sb_center::Priority;

use crate::support::{Sim, agents_and_queues, ring};

const GENERAL: &str = "[[queue]]\nname = \"general\"\nskills = [\"general\"]\nwrap_up_secs = 10\n";

/// One agent, busy with call `busy` until it is ended.
fn one_busy_agent() -> Sim {
    let mut sim = Sim::with_available(&agents_and_queues(1, GENERAL), &["a1"]);
    sim.arrive("busy", "general");
    sim.acd.agent_answered("busy", "a1", sim.now).unwrap();
    sim.rings();
    sim
}

/// Ends the agent's current call and each following one as soon as it rings, listing the
/// calls in the order they rang.
fn answer_order(sim: &mut Sim, first: &str, count: usize) -> Vec<String> {
    let mut current = first.to_string();
    let mut order = Vec::new();
    for _ in 0..count {
        sim.wait_secs(30);
        sim.acd.call_ended(&current, sim.now).unwrap();
        sim.wait_secs(10); // wrap-up
        let (call, agent) = sim.rings().remove(0);
        sim.acd.agent_answered(&call, &agent, sim.now).unwrap();
        order.push(call.clone());
        current = call;
    }
    order
}

#[test]
fn a_complaint_is_answered_before_an_earlier_general_question() {
    let mut sim = one_busy_agent();
    sim.arrive_with("question", "general", Priority::GENERAL);
    sim.wait_secs(5);
    sim.arrive_with("complaint", "general", Priority::COMPLAINT);
    assert_eq!(answer_order(&mut sim, "busy", 2), ["complaint", "question"]);
}

#[test]
fn calls_of_the_same_priority_are_answered_in_arrival_order() {
    let mut sim = one_busy_agent();
    for call in ["first", "second", "third"] {
        sim.arrive_with(call, "general", Priority::BILLING);
        sim.wait_secs(1);
    }
    // Several arrivals at the same instant keep their order too.
    sim.arrive_with("fourth", "general", Priority::BILLING);
    sim.arrive_with("fifth", "general", Priority::BILLING);
    assert_eq!(
        answer_order(&mut sim, "busy", 5),
        ["first", "second", "third", "fourth", "fifth"]
    );
}

#[test]
fn numeric_priorities_order_among_the_classes() {
    let mut sim = one_busy_agent();
    sim.arrive_with("general", "general", "general".parse().unwrap());
    sim.arrive_with("billing", "general", "billing".parse().unwrap());
    sim.arrive_with("vip_billing", "general", "25".parse().unwrap());
    sim.arrive_with("complaint", "general", "complaint".parse().unwrap());
    sim.arrive_with("urgent", "general", Priority(200));
    assert_eq!(
        sim.waiting("general"),
        ["urgent", "complaint", "vip_billing", "billing", "general"]
    );
    assert!("urgentish".parse::<Priority>().is_err());
}

#[test]
fn an_agent_in_several_queues_takes_the_oldest_highest_priority_call_among_them() {
    let mut sim = Sim::with_available(
        r#"
        [[queue]]
        name = "billing"
        skills = ["billing"]
        wrap_up_secs = 10

        [[queue]]
        name = "orders"
        skills = ["orders"]
        wrap_up_secs = 10

        [[agent]]
        id = "both"
        name = "Both"
        password = "x"
        skills = { billing = 5, orders = 5 }
        "#,
        &["both"],
    );
    sim.arrive("busy", "orders");
    sim.acd.agent_answered("busy", "both", sim.now).unwrap();
    sim.rings();
    sim.wait_secs(1);
    sim.arrive("old_order", "orders");
    sim.wait_secs(1);
    sim.arrive("newer_bill", "billing");
    sim.wait_secs(1);
    sim.arrive_with("order_complaint", "orders", Priority::COMPLAINT);
    sim.wait_secs(1);
    sim.arrive("newest_order", "orders");
    assert_eq!(
        answer_order(&mut sim, "busy", 4),
        ["order_complaint", "old_order", "newer_bill", "newest_order"]
    );
}

#[test]
fn an_agent_becoming_available_picks_up_the_longest_waiting_eligible_call_immediately() {
    let mut sim = Sim::new(&agents_and_queues(1, GENERAL));
    sim.arrive("early", "general");
    sim.wait_secs(20);
    sim.arrive("late", "general");
    sim.wait_secs(20);
    sim.log_in("a1");
    // In the same input, without waiting for a timer.
    assert_eq!(sim.rings(), [ring("early", "a1")]);
}
